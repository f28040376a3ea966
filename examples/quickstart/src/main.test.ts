import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

describe('quickstart example', () => {
  it('is the code the README shows', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const code = readFileSync(new URL('./main.ts', import.meta.url), 'utf8').trim();
    expect(readme).toContain(code);
  });

  it("runs dom0's notification through to domU's handler", async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await import('./main.js');
    const lines = log.mock.calls.map((c) => String(c[0]));
    log.mockRestore();
    expect(lines[0]).toMatch(/^domU: IRQ \d+ ran on port 1$/);
    expect(lines[1]).toMatch(/xen-dyn\s+-event\s+demo/);
  });
});
