#!/usr/bin/env node
// The `evtchn` command. Runs the built CLI (dist/); `pnpm install` builds it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// A reader that stops early (`evtchn … | head`) closes the pipe: end quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

// Run as the repository's `pnpm evtchn` script, the process starts in the repository root;
// paths on the command line are the user's, relative to the folder pnpm was started in.
if (process.env.npm_lifecycle_event === 'evtchn' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('evtchn: the CLI is not built yet; run `pnpm install` (or `pnpm build`) first\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
