/*
 * Generates, from the one configuration schema (schema.ts), the TypeScript types of a
 * configuration (types.generated.ts), the JSON Schema published for editors
 * (schema/platform.schema.json) and the field reference of the configuration guide. The
 * generated files are checked in; a test regenerates them and fails when one is stale
 * (`pnpm --filter @evtchn/core gen:config` rewrites them).
 */
import { platformConfigSchema } from './schema.js';

type S = Record<string, unknown>;
const isObj = (v: unknown): v is S => v !== null && typeof v === 'object' && !Array.isArray(v);

function literal(v: unknown): string {
  return JSON.stringify(v).replace(/"/g, "'");
}

function doc(text: unknown, indent: string): string {
  return typeof text === 'string' ? `${indent}/** ${text.replace(/\*\//g, '*\\/')} */\n` : '';
}

class TypeWriter {
  readonly decls = new Map<string, string>();

  typeOf(s: unknown): string {
    if (!isObj(s)) return 'unknown';
    if (typeof s.title === 'string') {
      if (!this.decls.has(s.title)) {
        this.decls.set(s.title, ''); // reserve the name (and the order) before the members
        this.decls.set(s.title, this.declare(s.title, s));
      }
      return s.title;
    }
    return this.anonymous(s);
  }

  private anonymous(s: S): string {
    if ('const' in s) return literal(s.const);
    if (Array.isArray(s.enum)) return s.enum.map(literal).join(' | ');
    if (Array.isArray(s.anyOf) && s.type === undefined) return [...new Set(s.anyOf.map((b) => this.typeOf(b)))].join(' | ');
    switch (s.type) {
      case 'integer':
      case 'number':
        return 'number';
      case 'string':
        return 'string';
      case 'boolean':
        return 'boolean';
      case 'array': {
        const item = this.typeOf(s.items);
        return /[ |]/.test(item) ? `(${item})[]` : `${item}[]`;
      }
      case 'object':
        return isObj(s.properties) && Object.keys(s.properties).length ? `{ ${this.members(s, '').replace(/\n/g, ' ').trim()} }` : 'Record<string, unknown>';
    }
    return 'unknown';
  }

  private members(s: S, indent: string): string {
    const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
    return Object.entries(s.properties as S)
      .map(([key, p]) => `${doc(isObj(p) ? p.description : undefined, indent)}${indent}${/^[$A-Za-z_][$\w]*$/.test(key) ? key : literal(key)}${required.has(key) ? '' : '?'}: ${this.typeOf(p)};\n`)
      .join('');
  }

  private declare(name: string, s: S): string {
    if (Array.isArray(s.allOf) && s.allOf.every((b) => isObj(b) && isObj(b.then))) {
      const variants = s.allOf.map((b) => this.typeOf((b as S).then));
      return `${doc(s.description, '')}export type ${name} = ${variants.join(' | ')};\n`;
    }
    if (s.type === 'object' && isObj(s.properties)) return `${doc(s.description, '')}export interface ${name} {\n${this.members(s, '  ')}}\n`;
    return `${doc(s.description, '')}export type ${name} = ${this.anonymous(s)};\n`;
  }
}

/** The TypeScript source of the configuration types (types.generated.ts). */
export function generateConfigTypes(): string {
  const w = new TypeWriter();
  w.typeOf(platformConfigSchema);
  return (
    '// Generated from schema.ts by codegen.ts (pnpm --filter @evtchn/core gen:config). Do not edit.\n\n' +
    [...w.decls.values()].join('\n')
  );
}

/** The JSON Schema published for editors (schema/platform.schema.json). */
export function generatePublishedSchema(): string {
  return `${JSON.stringify(platformConfigSchema, null, 2)}\n`;
}

function describeType(s: S): string {
  if ('const' in s) return `\`${String(s.const)}\``;
  if (Array.isArray(s.enum)) return s.enum.map((v) => `\`${String(v)}\``).join(' | ');
  if (Array.isArray(s.anyOf) && s.type === undefined) return s.anyOf.map((b) => (isObj(b) ? describeType(b) : '?')).join(' or ');
  const range = (lo: unknown, hi: unknown): string => (lo !== undefined && hi !== undefined ? ` ${String(lo)}..${String(hi)}` : lo !== undefined ? ` ≥ ${String(lo)}` : '');
  switch (s.type) {
    case 'integer':
      return `integer${range(s.minimum, s.maximum)}`;
    case 'number':
      return s.exclusiveMinimum !== undefined ? `number > ${String(s.exclusiveMinimum)}` : 'number';
    case 'string':
      return s.pattern ? 'duration string' : 'string';
    case 'array':
      return isObj(s.items) && s.items.type !== 'object' && !s.items.title ? `list of ${describeType(s.items)}` : 'list';
    case 'object':
      return isObj(s.properties) && Object.keys(s.properties).length ? 'map' : 'map of options';
    case 'boolean':
      return 'boolean';
  }
  return 'name or { name | module, options }';
}

/** The rows of the field reference: every field of the file, with its type and description. */
export function configFields(): { path: string; type: string; description: string }[] {
  const rows: { path: string; type: string; description: string }[] = [];
  const walk = (s: S, path: string): void => {
    if (path && path !== '$schema') rows.push({ path, type: describeType(s), description: typeof s.description === 'string' ? s.description : '' });
    if (isObj(s.properties)) {
      for (const [k, p] of Object.entries(s.properties)) if (isObj(p) && k !== '$schema' && !(path.startsWith('workloads[') && k === 'type')) walk(p, path ? `${path}.${k}` : k);
    }
    if (s.type === 'array' && isObj(s.items)) {
      const items = s.items;
      if (Array.isArray(items.allOf)) {
        for (const b of items.allOf) {
          const then = (b as S).then as S;
          const type = String(((then.properties as S).type as S).const);
          rows.push({ path: `${path}[] type: ${type}`, type: 'map', description: String(then.description ?? '') });
          walk({ ...then, description: undefined, title: undefined }, `${path}[${type}]`);
          rows.splice(rows.findIndex((r) => r.path === `${path}[${type}]`), 1);
        }
      } else if (isObj(items.properties)) {
        walk({ ...items, description: undefined }, `${path}[]`);
        rows.splice(rows.findIndex((r) => r.path === `${path}[]`), 1);
      }
    }
  };
  walk(platformConfigSchema as unknown as S, '');
  return rows;
}

/** The configuration guide's field reference, a Markdown table. */
export function generateFieldReference(): string {
  const esc = (t: string): string => t.replace(/\|/g, '\\|');
  return (
    '| field | type | meaning, unit, default |\n|---|---|---|\n' +
    configFields()
      .map((r) => `| \`${r.path}\` | ${esc(r.type)} | ${esc(r.description)} |`)
      .join('\n') +
    '\n'
  );
}
