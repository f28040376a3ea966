/*
 * The `evtchn` executable as a user runs it: in a pseudo-terminal interrupted with Ctrl-C,
 * piped into a reader that stops early, as the repository's `pnpm evtchn` script from a
 * sub-folder, and with progress off a terminal. Needs the built CLI (`pnpm build`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = `${root}packages/cli/bin/evtchn.js`;
const exampleDir = `${root}examples/x86-dom0-fifo`;
const built = existsSync(`${root}packages/cli/dist/main.js`);
const hasScript = spawnSync('script', ['--version']).status === 0;
const hasPnpm = spawnSync('pnpm', ['--version'], { shell: false }).status === 0;

/** Runs `evtchn` and collects its output. */
function run(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd ?? root, env: { ...process.env, ...opts.env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe.skipIf(!built)('evtchn as a process', () => {
  it.skipIf(!hasScript)('leaves the terminal as it was when interrupted with Ctrl-C during a run', async () => {
    const transcript = await new Promise<string>((resolve) => {
      // script(1) gives the run a pseudo-terminal; ^C written to it is a real Ctrl-C (SIGINT to the foreground job).
      const child = spawn('script', ['-qfec', `${process.execPath} ${bin} run ${exampleDir}/platform.yaml --duration 10s`, '/dev/null'], {
        cwd: root,
        env: { ...process.env, TERM: 'xterm-256color' },
      });
      let out = '';
      let sent = false;
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!sent && out.includes('run:')) {
          sent = true;
          setTimeout(() => child.stdin.write('\x03'), 200);
        }
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', () => {
        clearTimeout(timer);
        resolve(out);
      });
    });
    expect(transcript).toMatch(/run: +\d+% +\d+ ms of 10 s virtual +[\d.]+k? events\/s +ETA/);
    // Nothing hid the cursor or turned line wrap off, so nothing is left to restore.
    expect(transcript).not.toContain('\x1b[?25l');
    expect(transcript).not.toContain('\x1b[?7l');
  }, 40_000);

  it('ends quietly when the reader of its output goes away (EPIPE)', async () => {
    const result = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'conform', `${root}conformance/hypercall`, `${root}conformance/delivery`], { cwd: root });
      let err = '';
      child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
      child.stdout.once('data', () => child.stdout.destroy()); // like `| head -1`
      child.on('close', (code) => resolve({ code, err }));
    });
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);

  it('takes paths relative to the folder pnpm was started in when run as the root `evtchn` script', async () => {
    // What pnpm sets for `cd examples/x86-dom0-fifo && pnpm -s evtchn …`: the script runs in the root.
    const r = await run(['run', 'platform.yaml', '--duration', '1ms', '--json'], { cwd: root, env: { npm_lifecycle_event: 'evtchn', INIT_CWD: exampleDir } });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { arch: string }).arch).toBe('x86');
  }, 60_000);

  it.skipIf(!hasPnpm)('runs through pnpm from a sub-folder with nothing but JSON on stdout', async () => {
    for (const argv of [
      ['-s', 'evtchn', 'run', 'platform.yaml', '--duration', '1ms', '--json'],
      ['exec', 'evtchn', 'run', 'platform.yaml', '--duration', '1ms', '--json'],
    ]) {
      const r = spawnSync('pnpm', argv, { cwd: exampleDir, encoding: 'utf8', env: { ...process.env, npm_lifecycle_event: '', INIT_CWD: '' } });
      expect(r.status, `pnpm ${argv.join(' ')}: ${r.stderr}`).toBe(0);
      expect((JSON.parse(r.stdout) as { domains: unknown[] }).domains).toHaveLength(4);
    }
  }, 120_000);

  it('shows progress off a terminal with --progress (on stderr, stdout stays JSON), and plain lines on TERM=dumb', async () => {
    const r = await run(['run', `${exampleDir}/platform.yaml`, '--duration', '5ms', '--json', '--progress'], { env: { TERM: 'dumb' } });
    expect(r.code).toBe(0);
    JSON.parse(r.out);
    expect(r.err).toMatch(/^run: +\d+% +[\d.]+ (us|ms) of 5 ms virtual +[\d.]+k? events\/s +ETA \S+\n/);
    expect(r.err).toMatch(/run: 5 ms of virtual time done in \d+s, \d+ events, [\d.]+k? events\/s\n$/);
    expect(r.err).not.toMatch(/[\r\x1b]/);
    const quiet = await run(['run', `${exampleDir}/platform.yaml`, '--duration', '1ms', '--json']);
    expect(quiet.err).toBe('');
  }, 60_000);
});
