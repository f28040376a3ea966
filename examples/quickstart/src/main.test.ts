import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

describe('quickstart example', () => {
  it('is the code the README shows', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const code = readFileSync(new URL('./main.ts', import.meta.url), 'utf8').trim();
    expect(readme).toContain(code);
  });

  it('runs and shows the event pending in domU', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await import('./main.js');
    expect(log).toHaveBeenCalledWith({ rc: 0, pending: true, masked: false });
    log.mockRestore();
  });
});
