/*
 * Parsing and validation of platform configuration files, in one pass: syntax, schema,
 * cross-reference, plugin-option and resource problems are all collected and reported
 * together in one ConfigError, each with its field path, the bad value, what is allowed (and
 * the nearest allowed name when a name is misspelt), and its line and column in the file.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError, type ConfigProblem } from '../platform/config-error.js';
import { platformConfigSchema, type PlatformFileConfig } from './schema.js';
import { didYouMean } from './suggest.js';

let validator: ReturnType<Ajv['compile']> | undefined;

let ajvInstance: Ajv | undefined;
const optionValidators = new WeakMap<object, ValidateFunction>();

function ajv(): Ajv {
  ajvInstance ??= new Ajv({ allErrors: true, strict: false });
  return ajvInstance;
}

function validate(): ReturnType<Ajv['compile']> {
  validator ??= ajv().compile(platformConfigSchema);
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

function schemaAt(schemaPath: string, root: unknown = platformConfigSchema): Record<string, unknown> | undefined {
  let s: unknown = root;
  for (const seg of schemaPath.replace(/^#\//, '').split('/').slice(0, -1)) {
    if (s === null || typeof s !== 'object') return undefined;
    s = (s as Record<string, unknown>)[seg];
  }
  return s as Record<string, unknown> | undefined;
}

function describe(e: ErrorObject, root: unknown, schemaRoot: unknown = platformConfigSchema): string {
  const path = pathOf(e.instancePath);
  const value = valueAt(root, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return `${path}: expected ${String(p.type)}, got ${show(value)}`;
    case 'enum': {
      const allowed = p.allowedValues as unknown[];
      const hint = typeof value === 'string' ? didYouMean(value, allowed.filter((a): a is string => typeof a === 'string')) : '';
      return `${path}: ${show(value)} is not allowed${hint}; allowed: ${allowed.map(show).join(', ')}`;
    }
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
      const props = schemaAt(e.schemaPath, schemaRoot)?.properties as Record<string, unknown> | undefined;
      const allowed = props ? Object.keys(props).filter((k) => k !== '$schema') : [];
      const key = String(p.additionalProperty);
      const where = path === '(top level)' ? '' : `${path}: `;
      return `${where}unknown key ${show(key)}${didYouMean(key, allowed)}${allowed.length ? `; allowed: ${allowed.join(', ')}` : '; this takes no options'}`;
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
      const branches = (schemaAt(e.schemaPath, schemaRoot)?.anyOf ?? []) as Array<Record<string, unknown>>;
      if (branches.every((b) => Object.keys(b).length === 1 && 'required' in b))
        return `${path}: give "name" (a built-in plugin) or "module" (a module specifier)`;
      if (branches.some((b) => 'pattern' in b))
        return `${path}: ${show(value)} is not a duration like "500us", "10ms" or "2s" (or a number of ns)`;
      if (branches.some((b) => isObj(b.properties) && 'module' in b.properties))
        return `${path}: ${show(value)} must be a name (string) or an object { name | module, options }`;
      return `${path}: ${show(value)} is none of the allowed forms: ${branches.map((b) => String(b.type ?? 'value')).join(', ')}`;
    }
    default:
      return `${path}: ${e.message ?? 'is invalid'}`;
  }
}

/** A problem found by a check, before its position in the file is looked up. */
interface Found {
  /** Where: path segments from the top of the file. */
  at: readonly (string | number)[];
  /** The message, starting with the field path. */
  message: string;
  /** The problem is the key at `at` (an unknown key) rather than its value. */
  key?: boolean;
}

function segmentsOf(instancePath: string): (string | number)[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
}

function schemaIssues(root: unknown, rawErrors: readonly ErrorObject[], schemaRoot: unknown = platformConfigSchema, pointerPrefix = ''): Found[] {
  const errors = rawErrors.map((e) => ({ ...e, instancePath: pointerPrefix + e.instancePath }));
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
  const seen = new Set<string>();
  const found: Found[] = [];
  for (const e of kept) {
    const message = describe(e, root, schemaRoot);
    if (seen.has(message)) continue;
    seen.add(message);
    const at = segmentsOf(e.instancePath);
    if (e.keyword === 'additionalProperties') found.push({ at: [...at, String((e.params as { additionalProperty: string }).additionalProperty)], message, key: true });
    else found.push({ at, message });
  }
  return found;
}

/** `['domains', 1, 'vcpus']` → `domains[1].vcpus`. */
function pathOfSegments(segs: readonly (string | number)[]): string {
  return segs.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * Semantic checks the schema cannot express: unique ids, references to known domains and
 * vCPUs, workloads that fit the architecture. Runs on whatever parts of the file are
 * well-formed, so it reports alongside the schema's problems.
 */
function crossReferenceIssues(cfg: Obj): Found[] {
  const issues: Found[] = [];
  const add = (at: (string | number)[], message: string): void => void issues.push({ at, message: `${pathOfSegments(at)}${message}` });
  const vcpusOf = new Map<number, number>();
  list(cfg.domains).forEach((d, i) => {
    if (!isObj(d) || !isInt(d.id)) return;
    if (vcpusOf.has(d.id)) add(['domains', i, 'id'], `: ${d.id} is already used by another domain`);
    vcpusOf.set(d.id, isInt(d.vcpus) && d.vcpus >= 1 ? d.vcpus : 1);
  });
  const dom = (at: (string | number)[], id: unknown): number | undefined => {
    if (!isInt(id)) return undefined;
    const v = vcpusOf.get(id);
    if (v === undefined) add(at, `: domain ${id} is not defined; defined: ${[...vcpusOf.keys()].join(', ') || 'none'}`);
    return v;
  };
  const vcpu = (at: (string | number)[], domId: unknown, n: number | undefined, v: unknown): void => {
    if (n !== undefined && isInt(v) && v >= n) add(at, `: domain ${String(domId)} has ${n} vCPU(s), so ${v} is out of range 0..${n - 1}`);
  };
  const arch = isObj(cfg.arch) ? cfg.arch : {};
  const archName = typeof arch.name === 'string' ? arch.name : arch.module ? undefined : 'x86';
  // VIRQ_TIMER is bound once per vCPU, the IPI once per vCPU of a domain: a second bind is -EBUSY.
  const timerOn = new Map<string, number>();
  const ipiIn = new Map<number, number>();
  list(cfg.workloads).forEach((w, i) => {
    if (!isObj(w)) return;
    const at = (...rest: (string | number)[]): (string | number)[] => ['workloads', i, ...rest];
    switch (w.type) {
      case 'interdomain': {
        dom(at('frontend'), w.frontend);
        const nb = dom(at('backend'), w.backend);
        if (isInt(w.frontend) && w.frontend === w.backend) add(at(), `: frontend and backend are both domain ${w.frontend}; a device pair joins two domains`);
        if (w.vcpu !== undefined) vcpu(at('vcpu'), w.backend, nb, w.vcpu);
        break;
      }
      case 'timer': {
        const n = dom(at('domain'), w.domain);
        list(w.vcpus).forEach((v, j) => vcpu(at('vcpus', j), w.domain, n, v));
        if (n !== undefined) {
          const cpus = Array.isArray(w.vcpus) ? w.vcpus.filter(isInt) : Array.from({ length: n }, (_, c) => c);
          for (const c of cpus) {
            const first = timerOn.get(`${String(w.domain)}/${c}`);
            if (first !== undefined) {
              add(at(), `: vCPU ${c} of domain ${String(w.domain)} already ticks for workloads[${first}]; VIRQ_TIMER is bound once per vCPU (list the vCPUs with "vcpus")`);
              break;
            }
            timerOn.set(`${String(w.domain)}/${c}`, i);
          }
        }
        break;
      }
      case 'ipi': {
        const n = dom(at('domain'), w.domain);
        if (isInt(w.domain)) {
          const first = ipiIn.get(w.domain);
          if (first !== undefined) add(at(), `: domain ${w.domain} already has an ipi workload (workloads[${first}]); its IPI is bound once per vCPU, so a domain has one`);
          else ipiIn.set(w.domain, i);
        }
        vcpu(at('from'), w.domain, n, w.from);
        vcpu(at('to'), w.domain, n, w.to);
        break;
      }
      case 'pirq': {
        const doms = list(w.domains);
        doms.forEach((d, j) => dom(at('domains', j), d));
        if (archName === 'arm') add(at('type'), `: "pirq" needs arch x86 (ARM has no pirqs); use "spi"`);
        if (w.gsi === undefined && !w.msi) add(at(), `: give "gsi" (a GSI line) or "msi: true"`);
        if (w.gsi !== undefined && w.msi) add(at(), `: give either "gsi" or "msi: true", not both`);
        if (w.msi && doms.length > 1) add(at('domains'), `: an MSI belongs to one device and one domain; got ${doms.length} domains`);
        if (doms.length > 1 && w.shared === false) add(at('shared'), `: ${doms.length} domains cannot share an unshared pirq`);
        break;
      }
      case 'spi':
        dom(at('domain'), w.domain);
        if (archName === 'x86') add(at('type'), `: "spi" needs arch arm; on x86 use "pirq"`);
        break;
      case 'vtimer': {
        const n = dom(at('domain'), w.domain);
        if (w.vcpu !== undefined) vcpu(at('vcpu'), w.domain, n, w.vcpu);
        if (archName === 'x86') add(at('type'), `: "vtimer" needs arch arm`);
        break;
      }
    }
  });
  return issues;
}

/** Ports of a 2-level ABI guest: 64 × 64 on a 64-bit guest, 32 × 32 on a 32-bit one (Xen's EVTCHN_2L_NR_CHANNELS). */
const TWO_LEVEL_PORTS = { 64: 4096, 32: 1024 } as const;

/**
 * Resource checks: the event channels the workloads bind in each domain fit its
 * `maxEvtchnPort` (and the 2-level ABI's port count when that is the only ABI). Ports are
 * allocated lowest first from port 1, so `n` bindings need ports 1..n.
 */
function resourceIssues(cfg: Obj): Found[] {
  const issues: Found[] = [];
  const domains = list(cfg.domains).filter(isObj);
  const need = new Map<number, { total: number; from: string[] }>();
  const vcpus = new Map<number, number>();
  for (const d of domains) if (isInt(d.id)) vcpus.set(d.id, isInt(d.vcpus) && d.vcpus >= 1 ? d.vcpus : 1);
  const note = (domId: unknown, n: number, what: string): void => {
    if (!isInt(domId) || !vcpus.has(domId) || n <= 0) return;
    const e = need.get(domId) ?? { total: 0, from: [] };
    e.total += n;
    e.from.push(n === 1 ? what : `${what} ×${n}`);
    need.set(domId, e);
  };
  // A VIRQ or IPI is bound once per vCPU however many workloads use it.
  const timerCpus = new Map<number, Set<number>>();
  const ipiDomains = new Set<number>();
  list(cfg.workloads).forEach((w, i) => {
    if (!isObj(w)) return;
    const at = `workloads[${i}]`;
    switch (w.type) {
      case 'interdomain':
        if (isInt(w.frontend) && w.frontend !== w.backend) {
          note(w.frontend, 1, at);
          note(w.backend, 1, at);
        }
        break;
      case 'timer':
        if (isInt(w.domain) && vcpus.has(w.domain)) {
          const set = timerCpus.get(w.domain) ?? new Set<number>();
          const cpus = Array.isArray(w.vcpus) ? w.vcpus.filter(isInt) : Array.from({ length: vcpus.get(w.domain)! }, (_, c) => c);
          for (const c of cpus) set.add(c);
          timerCpus.set(w.domain, set);
        }
        break;
      case 'ipi':
        if (isInt(w.domain)) ipiDomains.add(w.domain);
        break;
      case 'pirq':
        for (const d of list(w.domains)) note(d, 1, at);
        break;
    }
  });
  for (const [d, cpus] of timerCpus) note(d, cpus.size, 'VIRQ_TIMER');
  for (const d of ipiDomains) note(d, vcpus.get(d) ?? 0, 'IPIs');
  const abis = Array.isArray(cfg.abis) ? cfg.abis : ['2level', 'fifo'];
  const guest = isObj(cfg.guest) ? cfg.guest : {};
  const only2Level =
    (abis.length > 0 && abis.every((a) => a === '2level' || (isObj(a) && a.name === '2level' && !a.module))) || (guest.fifo === false && !guest.module);
  domains.forEach((d, i) => {
    if (!isInt(d.id)) return;
    const n = need.get(d.id);
    if (!n) return;
    const privileged = typeof d.privileged === 'boolean' ? d.privileged : d.id === 0;
    const max = isInt(d.maxEvtchnPort) ? d.maxEvtchnPort : privileged ? undefined : 1023;
    const why = `the workloads bind ${n.total} event channel(s) in domain ${d.id} (ports 1..${n.total}: ${n.from.join(', ')})`;
    if (max !== undefined && n.total > max)
      issues.push({ at: ['domains', i, isInt(d.maxEvtchnPort) ? 'maxEvtchnPort' : 'id'], message: `domains[${i}].maxEvtchnPort: ${max}${isInt(d.maxEvtchnPort) ? '' : ' (the default)'} is too small: ${why}; give at least ${n.total}` });
    const limit = TWO_LEVEL_PORTS[d.wordBits === 32 ? 32 : 64];
    if (only2Level && n.total >= limit)
      issues.push({ at: ['domains', i], message: `domains[${i}]: ${why}, but the 2-level ABI has ports 1..${limit - 1} only on a ${d.wordBits === 32 ? 32 : 64}-bit guest; offer "fifo"` });
  });
  return issues;
}

/** Where a plugin reference may carry options, and which kind of plugin it names. */
function pluginRefs(cfg: Obj): { kind: PluginOptionKind; at: (string | number)[]; ref: Obj }[] {
  const refs: { kind: PluginOptionKind; at: (string | number)[]; ref: Obj }[] = [];
  if (isObj(cfg.arch)) refs.push({ kind: 'arch', at: ['arch'], ref: { name: 'x86', ...cfg.arch } });
  list(cfg.abis).forEach((a, i) => isObj(a) && refs.push({ kind: 'abi', at: ['abis', i], ref: a }));
  if (isObj(cfg.guest)) refs.push({ kind: 'guest', at: ['guest'], ref: { name: 'linux', ...cfg.guest } });
  if (isObj(cfg.policy)) refs.push({ kind: 'policy', at: ['policy'], ref: cfg.policy });
  return refs;
}

function pluginOptionIssues(cfg: Obj, lookup: PluginOptionSchemas | undefined): Found[] {
  if (!lookup) return [];
  const issues: Found[] = [];
  for (const { kind, at, ref } of pluginRefs(cfg)) {
    if (!isObj(ref.options)) continue;
    const schema = lookup({ kind, name: typeof ref.name === 'string' && !ref.module ? ref.name : undefined, module: typeof ref.module === 'string' ? ref.module : undefined });
    if (!schema) continue;
    let v = optionValidators.get(schema);
    if (!v) {
      v = ajv().compile(schema);
      optionValidators.set(schema, v);
    }
    if (!v(ref.options)) issues.push(...schemaIssues(cfg, v.errors ?? [], schema, `/${at.join('/')}/options`));
  }
  return issues;
}

/** Deepest nesting accepted in a configuration (a real one is under 10 deep). */
export const MAX_CONFIG_DEPTH = 64;

/** Nesting depth of a parsed value, without recursion (a hostile file must not overflow the stack). */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > max) max = d;
    if (d > MAX_CONFIG_DEPTH) return d;
    if (v !== null && typeof v === 'object') for (const c of Object.values(v)) stack.push([c, d + 1]);
  }
  return max;
}

/**
 * Bracket depth of JSON or YAML flow text, scanned before parsing (parsers and validators
 * recurse). Quoted strings are skipped; the position of the first bracket too deep is returned.
 */
function scanDepth(text: string): { depth: number; offset: number } {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"') quote = c;
    else if (c === '[' || c === '{') {
      if (++depth > MAX_CONFIG_DEPTH) return { depth, offset: i };
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return { depth, offset: -1 };
}

/** The kind of plugin whose options are checked. */
export type PluginOptionKind = 'arch' | 'abi' | 'guest' | 'policy';

/**
 * The hook through which plugin options are checked in the same pass as the rest of the file:
 * given a plugin reference, the JSON Schema of its `options`, or `undefined` when unknown (the
 * options are then passed through unchecked).
 */
export type PluginOptionSchemas = (ref: { kind: PluginOptionKind; name?: string; module?: string }) => object | undefined;

/** Options of {@link validatePlatformConfig} and {@link parsePlatformConfig}. */
export interface ConfigCheckOptions {
  /** Schemas of the plugins' `options` (see {@link PluginOptionSchemas}). */
  pluginOptions?: PluginOptionSchemas;
}

/** Finds the line and column of a path in a parsed YAML (or JSON) document. */
type Locator = (at: readonly (string | number)[], key?: boolean) => { line: number; column: number } | undefined;

function yamlLocator(doc: Document, lc: LineCounter): Locator {
  return (at, key) => {
    let node: unknown = doc.contents;
    let keyNode: unknown;
    let found: unknown = node;
    for (const seg of at) {
      if (isAlias(node)) node = node.resolve(doc);
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        node = node.items[seg];
      } else break;
      found = key && keyNode ? keyNode : (node ?? keyNode);
    }
    const range = (found as Node | undefined)?.range;
    if (!range) return undefined;
    const pos = lc.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  };
}

function report(source: string, found: readonly Found[], locate: Locator | undefined): ConfigError {
  const problems: ConfigProblem[] = found.map((f) => {
    const pos = locate?.(f.at, f.key);
    const p: ConfigProblem = { message: f.message };
    if (f.at.length) p.path = pathOfSegments(f.at);
    if (pos) {
      p.line = pos.line;
      p.column = pos.column;
    }
    return p;
  });
  // Top to bottom through the file; problems without a position keep their order, last.
  problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  const lines = problems.map((p) => `${source}${p.line !== undefined ? `:${p.line}:${p.column}` : ''}: ${p.message}`);
  return new ConfigError(`${source}: ${problems.length} problem(s):\n  ${lines.join('\n  ')}`, problems.map((p) => p.message), problems);
}

function checkAll(value: unknown, source: string, options: ConfigCheckOptions, locate: Locator | undefined): PlatformFileConfig {
  const depth = depthOf(value);
  if (depth > MAX_CONFIG_DEPTH) throw new ConfigError(`${source}: nested more than ${MAX_CONFIG_DEPTH} levels deep; a configuration is a few levels deep`);
  const v = validate();
  const found: Found[] = v(value) ? [] : schemaIssues(value, v.errors ?? []);
  if (isObj(value)) found.push(...crossReferenceIssues(value), ...resourceIssues(value), ...pluginOptionIssues(value, options.pluginOptions));
  if (found.length) throw report(source, found, locate);
  return value as PlatformFileConfig;
}

/**
 * Validates an already-parsed configuration object: schema, cross-references, plugin options
 * and resources, all problems together.
 * @param source - file name used in messages
 * @throws ConfigError listing every problem found
 */
export function validatePlatformConfig(value: unknown, source = 'config', options: ConfigCheckOptions = {}): PlatformFileConfig {
  return checkAll(value, source, options, undefined);
}

/**
 * Parses and validates a configuration file's text: JSON when `source` ends in `.json`,
 * YAML otherwise. Duplicate keys are errors in both; YAML merge keys (`<<`) are allowed.
 * @throws ConfigError naming the line and column of a syntax error, or every validation problem
 */
export function parsePlatformConfig(text: string, source = 'config.yaml', options: ConfigCheckOptions = {}): PlatformFileConfig {
  const json = source.endsWith('.json');
  const lc = new LineCounter();
  const scan = scanDepth(text);
  if (scan.offset >= 0) {
    lc.addNewLine(0);
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') lc.addNewLine(i + 1);
    const pos = lc.linePos(scan.offset);
    throw new ConfigError(`${source}:${pos.line}:${pos.col}: nested more than ${MAX_CONFIG_DEPTH} levels deep; a configuration is a few levels deep`);
  }
  if (json) {
    try {
      JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`${source}: JSON syntax error: ${(e as Error).message}`);
    }
  }
  // JSON is YAML too: the YAML parser gives both the node positions and the duplicate-key check.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, merge: !json, lineCounter: lc });
  if (doc.errors.length) {
    const issues = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const what = e.code === 'DUPLICATE_KEY' ? 'duplicate key' : `${json ? 'JSON' : 'YAML'} syntax error`;
      return `${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${what}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
    });
    throw new ConfigError(issues.join('\n'), issues);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // e.g. an alias to an anchor that does not exist
    throw new ConfigError(`${source}: YAML error: ${(e as Error).message}`);
  }
  return checkAll(value, source, options, yamlLocator(doc, lc));
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
