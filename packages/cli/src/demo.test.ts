import { describe, expect, it } from 'vitest';
import { runDemo } from './demo.js';
import { main, type CliIo } from './main.js';

describe('evtchn demo', () => {
  it('tells the story of a channel on both ABIs', () => {
    const text = runDemo();
    expect(text).toContain('domU offers port 1; dom0 binds it as its port 1');
    expect(text).toContain('pending=true masked=false, upcall pending on vCPU 0: 1');
    expect(text).toContain('init_control(gfn 1) -> link bits 17');
    expect(text).toContain('the pending event carried over: pending=true');
    expect(text).toMatch(/active ABI: 2level; dom0's end is now waiting: unbound/);
  });

  it('is the CLI command `demo`', async () => {
    let out = '';
    const io: CliIo = { out: (t) => (out += t), err: (t) => (out += t) };
    expect(await main(['demo'], io)).toBe(0);
    expect(out).toBe(runDemo());
  });
});
