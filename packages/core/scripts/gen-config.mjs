// Regenerates what is derived from the configuration schema (src/config/schema.ts): the
// TypeScript types, the published JSON Schema and the configuration guide's field reference.
// Run after a build: `pnpm --filter @evtchn/core gen:config`.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { generateConfigTypes, generatePublishedSchema, generateFieldReference } = await import('../dist/config/codegen.js');
const at = (p) => fileURLToPath(new URL(p, import.meta.url));
writeFileSync(at('../src/config/types.generated.ts'), generateConfigTypes());
writeFileSync(at('../schema/platform.schema.json'), generatePublishedSchema());
const guide = at('../../../docs/guides/running-configurations.md');
const text = readFileSync(guide, 'utf8');
const begin = '<!-- fields:begin (generated from the schema: pnpm --filter @evtchn/core gen:config) -->\n';
const end = '<!-- fields:end -->';
const i = text.indexOf(begin);
const j = text.indexOf(end);
if (i < 0 || j < i) throw new Error(`${guide}: field reference markers not found`);
writeFileSync(guide, text.slice(0, i + begin.length) + generateFieldReference() + text.slice(j));
