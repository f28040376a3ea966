import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { generateConfigTypes, generateFieldReference, generatePublishedSchema } from './codegen.js';
import { platformConfigSchema } from './schema.js';

const at = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const stale = 'out of date: run `pnpm --filter @evtchn/core gen:config`';

describe('what is generated from the configuration schema', () => {
  it('the TypeScript types are the checked-in ones', () => {
    expect(readFileSync(at('./types.generated.ts'), 'utf8'), `types.generated.ts ${stale}`).toBe(generateConfigTypes());
  });

  it('the published JSON Schema is the checked-in one, and it is what validation uses', () => {
    const published = readFileSync(at('../../schema/platform.schema.json'), 'utf8');
    expect(published, `schema/platform.schema.json ${stale}`).toBe(generatePublishedSchema());
    expect(JSON.parse(published)).toEqual(JSON.parse(JSON.stringify(platformConfigSchema)));
    // An editor's validator can use it as is.
    const check = new Ajv({ strict: false }).compile(JSON.parse(published) as object);
    expect(check({ arch: { name: 'x86' }, domains: [{ id: 0 }] })).toBe(true);
    expect(check({ arch: { name: 'x86' }, domains: [{ id: 0, vcpus: 0 }] })).toBe(false);
  });

  it('the configuration guide lists every field, with the generated reference', () => {
    const guide = readFileSync(at('../../../../docs/guides/running-configurations.md'), 'utf8');
    const begin = guide.indexOf('-->\n', guide.indexOf('<!-- fields:begin')) + 4;
    expect(guide.slice(begin, guide.indexOf('<!-- fields:end -->')), `the guide's field reference ${stale}`).toBe(generateFieldReference());
    // Every field has a description; rates and times name their unit.
    for (const row of generateFieldReference().split('\n').slice(2).filter(Boolean)) {
      expect(row, row).toMatch(/\| [^|]*\S[^|]* \|$/);
      if (/\.(rate|hz|periodUs|duration)`/.test(row)) expect(row).toMatch(/events\/s|Hz|microseconds|nanoseconds/);
    }
    for (const field of ['msi', 'shared', 'privileged', 'nrPirqs', 'memPages', 'gsiBase', 'options']) expect(guide).toContain(`.${field}\``);
  });
});
