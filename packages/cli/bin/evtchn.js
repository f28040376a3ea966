#!/usr/bin/env node
// The `evtchn` command. Runs the built CLI (dist/); `pnpm install` builds it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('evtchn: the CLI is not built yet; run `pnpm install` (or `pnpm build`) first\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
