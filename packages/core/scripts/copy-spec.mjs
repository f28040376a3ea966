// prepack: ships the specification the conformance rules cite (docs/guides/specification.md,
// the one copy in git) as SPEC.md in the package; postpack (`--clean`) removes the copy.
import { copyFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const target = fileURLToPath(new URL('../SPEC.md', import.meta.url));
rmSync(target, { force: true });
if (!process.argv.includes('--clean')) copyFileSync(fileURLToPath(new URL('../../../docs/guides/specification.md', import.meta.url)), target);
