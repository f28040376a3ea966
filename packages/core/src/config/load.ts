/*
 * Parsing and validation of platform configuration files. Syntax errors name the line and
 * column; schema and cross-reference errors name the field path, the bad value and what is
 * allowed; every problem of a file is reported in one ConfigError.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { ConfigError } from '../platform/config-error.js';
import { platformConfigSchema, type PlatformFileConfig } from './schema.js';

let validator: ReturnType<Ajv['compile']> | undefined;

function validate(): ReturnType<Ajv['compile']> {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validator = ajv.compile(platformConfigSchema);
  }
  return validator;
}

/** `/domains/1/vcpus` → `domains[1].vcpus`. */
function pathOf(instancePath: string): string {
  if (!instancePath) return '(top level)';
  return instancePath
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function valueAt(root: unknown, instancePath: string): unknown {
  let v: unknown = root;
  for (const seg of instancePath.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

function schemaAt(schemaPath: string): Record<string, unknown> | undefined {
  let s: unknown = platformConfigSchema;
  for (const seg of schemaPath.replace(/^#\//, '').split('/').slice(0, -1)) {
    if (s === null || typeof s !== 'object') return undefined;
    s = (s as Record<string, unknown>)[seg];
  }
  return s as Record<string, unknown> | undefined;
}

function describe(e: ErrorObject, root: unknown): string {
  const path = pathOf(e.instancePath);
  const value = valueAt(root, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return `${path}: expected ${String(p.type)}, got ${show(value)}`;
    case 'enum':
      return `${path}: ${show(value)} is not allowed; allowed: ${(p.allowedValues as unknown[]).map(show).join(', ')}`;
    case 'const':
      return `${path}: must be ${show(p.allowedValue)}, got ${show(value)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const op = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' }[e.keyword];
      return `${path}: must be ${op} ${String(p.limit)}, got ${show(value)}`;
    }
    case 'additionalProperties': {
      const props = schemaAt(e.schemaPath)?.properties as Record<string, unknown> | undefined;
      const allowed = props ? Object.keys(props) : [];
      const key = String(p.additionalProperty);
      const where = path === '(top level)' ? '' : `${path}: `;
      return `${where}unknown key ${show(key)}${allowed.length ? `; allowed: ${allowed.join(', ')}` : ''}`;
    }
    case 'required':
      return `${path === '(top level)' ? '' : `${path}: `}missing required key ${show(p.missingProperty)}`;
    case 'minItems':
      return `${path}: needs at least ${String(p.limit)} item(s)`;
    case 'maxItems':
      return `${path}: allows at most ${String(p.limit)} item(s)`;
    case 'minLength':
      return `${path}: must not be empty`;
    case 'pattern':
      return `${path}: ${show(value)} is not a duration like "500us", "10ms" or "2s"`;
    case 'anyOf': {
      const branches = (schemaAt(e.schemaPath)?.anyOf ?? []) as Array<Record<string, unknown>>;
      if (branches.every((b) => Object.keys(b).length === 1 && 'required' in b))
        return `${path}: give "name" (a built-in plugin) or "module" (a module specifier)`;
      if (branches.some((b) => 'pattern' in b))
        return `${path}: ${show(value)} is not a duration like "500us", "10ms" or "2s" (or a number of ns)`;
      return `${path}: ${show(value)} must be a name (string) or an object { name | module, options }`;
    }
    default:
      return `${path}: ${e.message ?? 'is invalid'}`;
  }
}

function schemaIssues(root: unknown, errors: readonly ErrorObject[]): string[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  // An anyOf inside an anyOf at the same place says more precisely what is missing.
  const innermost = anyOfs.filter(
    (a) => !anyOfs.some((b) => b !== a && b.instancePath === a.instancePath && b.schemaPath.startsWith(`${a.schemaPath}/`)),
  );
  const kept = errors.filter(
    (e) =>
      e.keyword !== 'if' &&
      (e.keyword === 'anyOf' ? innermost.includes(e) : !anyOfs.some((a) => e.schemaPath.startsWith(`${a.schemaPath}/`))),
  );
  return [...new Set(kept.map((e) => describe(e, root)))];
}

/** Semantic checks the schema cannot express: unique ids and references to known domains and vCPUs. */
function crossReferenceIssues(cfg: PlatformFileConfig): string[] {
  const issues: string[] = [];
  const vcpusOf = new Map<number, number>();
  cfg.domains.forEach((d, i) => {
    if (vcpusOf.has(d.id)) issues.push(`domains[${i}].id: ${d.id} is already used by another domain`);
    vcpusOf.set(d.id, d.vcpus ?? 1);
  });
  const dom = (path: string, id: number): number | undefined => {
    const v = vcpusOf.get(id);
    if (v === undefined) issues.push(`${path}: domain ${id} is not defined; defined: ${[...vcpusOf.keys()].join(', ')}`);
    return v;
  };
  const vcpu = (path: string, domId: number, n: number | undefined, v: number): void => {
    if (n !== undefined && v >= n) issues.push(`${path}: domain ${domId} has ${n} vCPU(s), so ${v} is out of range 0..${n - 1}`);
  };
  const archName = cfg.arch.name ?? (cfg.arch.module ? undefined : 'x86');
  (cfg.workloads ?? []).forEach((w, i) => {
    const at = `workloads[${i}]`;
    switch (w.type) {
      case 'interdomain': {
        dom(`${at}.frontend`, w.frontend);
        const nb = dom(`${at}.backend`, w.backend);
        if (w.frontend === w.backend) issues.push(`${at}: frontend and backend are both domain ${w.frontend}; a device pair joins two domains`);
        if (w.vcpu !== undefined) vcpu(`${at}.vcpu`, w.backend, nb, w.vcpu);
        break;
      }
      case 'timer': {
        const n = dom(`${at}.domain`, w.domain);
        (w.vcpus ?? []).forEach((v, j) => vcpu(`${at}.vcpus[${j}]`, w.domain, n, v));
        break;
      }
      case 'ipi': {
        const n = dom(`${at}.domain`, w.domain);
        vcpu(`${at}.from`, w.domain, n, w.from);
        vcpu(`${at}.to`, w.domain, n, w.to);
        break;
      }
      case 'pirq':
        w.domains.forEach((d, j) => dom(`${at}.domains[${j}]`, d));
        if (archName === 'arm') issues.push(`${at}.type: "pirq" needs arch x86 (ARM has no pirqs); use "spi"`);
        if (w.gsi === undefined && !w.msi) issues.push(`${at}: give "gsi" (a GSI line) or "msi: true"`);
        if (w.gsi !== undefined && w.msi) issues.push(`${at}: give either "gsi" or "msi: true", not both`);
        if (w.msi && w.domains.length > 1) issues.push(`${at}.domains: an MSI belongs to one device and one domain; got ${w.domains.length} domains`);
        if (w.domains.length > 1 && w.shared === false) issues.push(`${at}.shared: ${w.domains.length} domains cannot share an unshared pirq`);
        break;
      case 'spi':
        dom(`${at}.domain`, w.domain);
        if (archName === 'x86') issues.push(`${at}.type: "spi" needs arch arm; on x86 use "pirq"`);
        break;
      case 'vtimer': {
        const n = dom(`${at}.domain`, w.domain);
        if (w.vcpu !== undefined) vcpu(`${at}.vcpu`, w.domain, n, w.vcpu);
        if (archName === 'x86') issues.push(`${at}.type: "vtimer" needs arch arm`);
        break;
      }
    }
  });
  return issues;
}

/**
 * Validates an already-parsed configuration object.
 * @param source - file name used in messages
 * @throws ConfigError listing every problem found
 */
export function validatePlatformConfig(value: unknown, source = 'config'): PlatformFileConfig {
  const v = validate();
  if (!v(value)) {
    const issues = schemaIssues(value, v.errors ?? []);
    throw new ConfigError(`${source}: ${issues.length} problem(s):\n  ${issues.join('\n  ')}`, issues);
  }
  const cfg = value as PlatformFileConfig;
  const issues = crossReferenceIssues(cfg);
  if (issues.length) throw new ConfigError(`${source}: ${issues.length} problem(s):\n  ${issues.join('\n  ')}`, issues);
  return cfg;
}

/**
 * Parses and validates a configuration file's text: JSON when `source` ends in `.json`,
 * YAML otherwise (YAML is a superset of JSON).
 * @throws ConfigError naming the line and column of a syntax error, or every validation problem
 */
export function parsePlatformConfig(text: string, source = 'config.yaml'): PlatformFileConfig {
  let value: unknown;
  if (source.endsWith('.json')) {
    try {
      value = JSON.parse(text);
    } catch (e) {
      const msg = `${source}: JSON syntax error: ${(e as Error).message}`;
      throw new ConfigError(msg);
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length) {
      const issues = doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${source}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${e.message.split('\n')[0]}`;
      });
      throw new ConfigError(issues.join('\n'), issues);
    }
    try {
      value = doc.toJS();
    } catch (e) {
      // e.g. an alias to an anchor that does not exist
      throw new ConfigError(`${source}: YAML error: ${(e as Error).message}`);
    }
  }
  return validatePlatformConfig(value, source);
}

/**
 * Parses a duration such as `'500us'`, `'10ms'`, `'2s'` or a number of ns.
 * @returns nanoseconds
 * @throws ConfigError for anything else
 */
export function parseDuration(value: string | number, path = 'duration'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  const m = typeof value === 'string' ? /^([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s)$/.exec(value) : null;
  if (!m) throw new ConfigError(`${path}: ${JSON.stringify(value)} is not a duration like "500us", "10ms" or "2s"`);
  const scale = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns' | 'us' | 'ms' | 's'];
  const ns = Math.round(Number(m[1]) * scale);
  if (ns <= 0) throw new ConfigError(`${path}: ${JSON.stringify(value)} must be longer than 0`);
  return ns;
}
