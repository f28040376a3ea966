// prepack: copies the repository's reference vectors (conformance/{delivery,hypercall}, the
// one copy kept in git) into this package's `vectors/` folder so the tarball ships them;
// postpack (`--clean`) removes the copy again.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const target = fileURLToPath(new URL('../vectors/', import.meta.url));
rmSync(target, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);
const source = fileURLToPath(new URL('../../../conformance/', import.meta.url));
for (const kind of ['delivery', 'hypercall']) {
  const from = `${source}${kind}`;
  if (!existsSync(from)) {
    console.error(`copy-vectors: ${from} is missing; the package would ship without its vectors`);
    process.exit(1);
  }
  cpSync(from, `${target}${kind}`, { recursive: true });
}
