/*
 * The configuration guide's examples are valid: every ```yaml block of
 * docs/guides/running-configurations.md passes the same checks as `evtchn validate`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkConfigFile } from './run/check.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('docs/guides/running-configurations.md', () => {
  const guide = readFileSync(`${root}docs/guides/running-configurations.md`, 'utf8');
  const blocks = [...guide.matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((m) => m[1]!);

  it('has examples', () => expect(blocks.length).toBeGreaterThanOrEqual(3));

  blocks.forEach((text, i) =>
    it(`example ${i + 1} passes evtchn validate`, async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'evtchn-guide-')), `example-${i + 1}.yaml`);
      writeFileSync(file, text);
      const { cfg } = await checkConfigFile(file);
      expect(cfg.domains.length).toBeGreaterThan(0);
    }),
  );
});
