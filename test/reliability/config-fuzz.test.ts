/*
 * Configuration fuzzing (ARCHITECTURE.md convention 4, 8: config errors name the field path):
 * valid platform configurations are broken at random — a value replaced by one of another
 * type, an unknown key added, the file text corrupted — and loading must always end in a
 * `ConfigError` whose every issue starts with a field path (or the file's line:column for a
 * syntax error), never in any other exception.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, parsePlatformConfig, validatePlatformConfig } from '@evtchn/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty } from './arbitraries.js';

const EXAMPLE = readFileSync(fileURLToPath(new URL('../../examples/x86-dom0-fifo/platform.yaml', import.meta.url)), 'utf8');
const SMALL = `arch: { name: x86, pcpus: 4, ioApics: [{ pins: 24 }], dynIrqPolicy: encroach }
abis: [2level, fifo]
guest: { name: linux, fifo: true }
domains:
  - { id: 0, vcpus: 2 }
  - { id: 1, vcpus: 2, pirqs: [20] }
workloads:
  - { type: interdomain, frontend: 1, backend: 0, rate: 1000, priority: 3 }
  - { type: timer, domain: 1, hz: 250 }
  - { type: ipi, domain: 1, from: 0, to: 1, rate: 50 }
  - { type: pirq, gsi: 20, rate: 100, domains: [1] }
run: { duration: 20ms, seed: 7 }
`;
const TEXTS = [EXAMPLE, SMALL];
/** The parsed bases (the loader's own YAML reading; a JSON text is YAML too). */
const BASES = TEXTS.map((t) => structuredClone(parsePlatformConfig(t, 'base.yaml')) as unknown as Record<string, unknown>);

/** An issue starts with a field path (`domains[1].vcpus: …`), names a key, or a file position. */
const ISSUE_WITH_PATH = /^(\(top level\)|[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*): |^unknown key "|^missing required key "|^c\.(yaml|json)(:\d+:\d+)?: /;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

/** Every path in `v` (objects and arrays included, root excluded). */
function paths(v: Json, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([...at, i]), paths(x, [...at, i], out)));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) (out.push([...at, k]), paths(x, [...at, k], out));
  return out;
}

function pathText(p: Path): string {
  return p.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

function getAt(root: Json, p: Path): Json {
  return p.reduce<Json>((v, seg) => (v as Record<string | number, Json>)[seg]!, root);
}
function setAt(root: Json, p: Path, value: Json): void {
  const parent = getAt(root, p.slice(0, -1)) as Record<string | number, Json>;
  parent[p[p.length - 1]!] = value;
}

const kindOf = (v: Json): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Values of each JSON kind, to swap a value for one of another kind. */
const VALUES_BY_KIND: Record<string, Json[]> = {
  null: [null],
  boolean: [true, false],
  number: [-1, 0, 1.5, 1e12],
  string: ['', 'x', 'yes'],
  array: [[], [1], ['a', 2]],
  object: [{}, { a: 1 }],
};

/** `abis[i]` and `policy` take a plugin name or a `{ name | module, options }` object. */
function isPluginRef(p: Path): boolean {
  return (p.length === 2 && p[0] === 'abis') || (p.length === 1 && p[0] === 'policy');
}

function loadText(text: string, source: string): unknown {
  return parsePlatformConfig(text, source);
}

/** Loads and returns the ConfigError's issues, failing on success or on any other exception. */
function issuesOf(load: () => unknown, what: string): readonly string[] {
  try {
    load();
  } catch (e) {
    if (!(e instanceof ConfigError)) expect.fail(`${what}: threw ${String(e)} instead of a ConfigError`);
    return e.issues;
  }
  return expect.fail(`${what}: loaded without a ConfigError`);
}

describe('configuration fuzzing', () => {
  it('the base configurations are valid', () => {
    for (const b of BASES) expect(() => validatePlatformConfig(structuredClone(b))).not.toThrow();
  });

  it('a value replaced by one of another type gives a ConfigError naming that field (or its container)', () => {
    const mutation = fc
      .record({ base: fc.nat(BASES.length - 1), pick: fc.nat(), kind: fc.nat(), value: fc.nat(), json: fc.boolean() })
      .map(({ base, pick, kind, value, json }) => {
        const cfg = structuredClone(BASES[base]!) as Json;
        const all = paths(cfg);
        const p = all[pick % all.length]!;
        const old = getAt(cfg, p);
        // number <-> string swaps can both be valid (durations), so only change the kind otherwise.
        const kinds = Object.keys(VALUES_BY_KIND).filter((k) => k !== kindOf(old) && !(kindOf(old) === 'number' && k === 'string') && !(kindOf(old) === 'string' && k === 'number'));
        const k = kinds[kind % kinds.length]!;
        let replacement = VALUES_BY_KIND[k]![value % VALUES_BY_KIND[k]!.length]!;
        // A plugin reference `{}` is accepted by the loader (known issue, see the it.fails below).
        if (isPluginRef(p) && kindOf(replacement) === 'object') replacement = { a: 1 };
        setAt(cfg, p, replacement);
        return { cfg, path: p, replacement, json };
      });
    checkProperty(
      'config fuzzing: wrong-type values',
      mutation,
      ({ cfg, path, replacement, json }) => {
        // Both go through the loader's parsers: JSON for c.json, YAML (a superset) for c.yaml.
        const text = json ? JSON.stringify(cfg) : JSON.stringify(cfg, null, 2);
        const what = `${pathText(path)} = ${JSON.stringify(replacement)}`;
        const issues = issuesOf(() => loadText(text, json ? 'c.json' : 'c.yaml'), what);
        for (const i of issues) expect(i, `${what}: issue names a path`).toMatch(ISSUE_WITH_PATH);
        // The issue names the field itself or a container of it (a union that no branch matched).
        const prefixes = path.map((_, n) => pathText(path.slice(0, n + 1)));
        expect(
          issues.some((i) => prefixes.some((pre) => i.startsWith(`${pre}: `) || i.startsWith(`${pre}[`) || i.startsWith(`${pre}.`)) || (path.length === 1 && i.includes(String(path[0])))),
          `${what}: some issue names ${pathText(path)} or a container of it; got ${JSON.stringify(issues)}`,
        ).toBe(true);
      },
      250,
    );
  });

  // Known issue of the configuration loader (core/src/config): a plugin reference object with
  // neither `name` nor `module` passes validation. Remove `.fails` once the schema requires one.
  it('a plugin reference {} (no name, no module) is a ConfigError naming it', () => {
    for (const [where, patch] of [
      ['abis[0]', { abis: [{}, 'fifo'] }],
      ['policy', { policy: {} }],
    ] as const) {
      const issues = issuesOf(() => validatePlatformConfig({ ...structuredClone(BASES[1]!), ...patch }), where);
      expect(issues.some((i) => i.startsWith(where))).toBe(true);
    }
  });

  // Known issue of the configuration loader: an alias to an anchor that does not exist makes
  // the yaml library throw a ReferenceError from `toJS()`, which escapes instead of a ConfigError.
  // (`*a` is therefore left out of the random corruptions above.) Remove `.fails` once fixed.
  it('an unresolved YAML alias is a ConfigError with a position', () => {
    const issues = issuesOf(() => loadText(`${SMALL}extra: *nowhere\n`, 'c.yaml'), 'unresolved alias');
    for (const i of issues) expect(i).toMatch(ISSUE_WITH_PATH);
  });

  it('an unknown key in any object gives a ConfigError naming the key and where it is', () => {
    const mutation = fc.record({ base: fc.nat(BASES.length - 1), pick: fc.nat(), key: fc.constantFrom('colour', 'zz', 'vcpu_s', 'Id') }).map(({ base, pick, key }) => {
      const cfg = structuredClone(BASES[base]!) as Json;
      const objects: Path[] = [[], ...paths(cfg).filter((p) => kindOf(getAt(cfg, p)) === 'object')];
      const p = objects[pick % objects.length]!;
      (getAt(cfg, p) as Record<string, Json>)[key] = 1;
      return { cfg, path: p, key };
    });
    checkProperty(
      'config fuzzing: unknown keys',
      mutation,
      ({ cfg, path, key }) => {
        const what = `unknown key ${key} at ${pathText(path) || '(top level)'}`;
        const issues = issuesOf(() => validatePlatformConfig(cfg), what);
        for (const i of issues) expect(i, `${what}: issue names a path`).toMatch(ISSUE_WITH_PATH);
        const where = pathText(path);
        expect(
          issues.some((i) => i.includes(`"${key}"`) && (where === '' || i.startsWith(where))),
          `${what}: ${JSON.stringify(issues)}`,
        ).toBe(true);
      },
      200,
    );
  });

  it('corrupted file text gives either a valid configuration or a ConfigError with a path or line:column, never another exception', () => {
    let malformed = 0;
    const corruption = fc.record({
      base: fc.nat(BASES.length - 1),
      json: fc.boolean(),
      edits: fc.array(
        fc.record({ at: fc.nat(), cut: fc.integer({ min: 0, max: 8 }), insert: fc.constantFrom('', ':', '{', ']', '- ', '\t', '"', "'", '&a', '!!int', '\n  ', '#', ',', '?', '|', '%', '@', 'x: [') }),
        { minLength: 1, maxLength: 4 },
      ),
    });
    checkProperty(
      'config fuzzing: corrupted text',
      corruption,
      ({ base, json, edits }) => {
        let text = json ? JSON.stringify(BASES[base]) : TEXTS[base]!;
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          text = text.slice(0, at) + e.insert + text.slice(at + e.cut);
        }
        const source = json ? 'c.json' : 'c.yaml';
        try {
          loadText(text, source);
        } catch (e) {
          if (!(e instanceof ConfigError)) expect.fail(`threw ${String(e)} instead of a ConfigError for:\n${text}`);
          malformed++;
          for (const i of e.issues) expect(i, `issue names a path or position (text:\n${text})`).toMatch(ISSUE_WITH_PATH);
        }
      },
      300,
    );
    expect(malformed, 'most corruptions are malformed').toBeGreaterThan(150);
  });
});
