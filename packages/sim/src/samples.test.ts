import { describe, expect, it } from 'vitest';
import { RunSampler } from './samples.js';

const domains = [
  { id: 0, name: 'dom0', nrVcpus: 2, wordBits: 64 },
  { id: 1, name: 'guest', nrVcpus: 1, wordBits: 64 },
];

describe('RunSampler', () => {
  it('cuts the run into equal intervals and keeps each vCPU’s interrupt time per interval', () => {
    const totals = new Map<string, number>();
    const s = new RunSampler(4, 1000, domains, (d, v) => totals.get(`${d}/${v}`) ?? 0);
    expect(s.times).toEqual([250, 500, 750, 1000]);
    totals.set('0/0', 100);
    s.sample(250);
    totals.set('0/0', 130);
    totals.set('0/1', 40);
    // Two intervals closed at once: the second one saw nothing new.
    s.sample(750);
    totals.set('1/0', 5);
    s.sample(1000);
    const r = s.result();
    expect(r.vcpus.map((v) => [v.name, v.vcpu, v.interruptNs])).toEqual([
      ['dom0', 0, [100, 30, 0, 0]],
      ['dom0', 1, [0, 40, 0, 0]],
      ['guest', 0, [0, 0, 0, 5]],
    ]);
  });

  it('keeps the peak of waiting ports per interval, by FIFO priority and as 2-level selector words', () => {
    const s = new RunSampler(4, 1000, domains, () => 0);
    // FIFO domain 0: two priority-3 ports and one priority-7 port wait in interval 0.
    s.portWaiting(0, 5, 3, 10);
    s.portWaiting(0, 6, 3, 20);
    s.portWaiting(0, 9, 7, 30);
    s.portWaiting(0, 9, 7, 40); // already waiting: not counted twice
    s.portHandled(0, 5, 100);
    s.sample(250);
    // Port 6 and 9 are still waiting through interval 1: its peak is 2 without any change.
    s.sample(500);
    s.portHandled(0, 6, 600);
    s.portHandled(0, 9, 610);
    s.portHandled(0, 9, 620); // no longer waiting: ignored
    // 2-level domain 1: ports 3 and 60 share selector word 0, port 64 is in word 1.
    s.portWaiting(1, 3, '-', 800);
    s.portWaiting(1, 60, '-', 801);
    s.portWaiting(1, 64, '-', 802);
    s.portHandled(1, 3, 900);
    s.sample(750);
    s.sample(1000);
    const peaks = s.result().waiting.map((w) => [w.name, w.kind, w.priority ?? '-', w.peak]);
    expect(peaks).toEqual([
      ['dom0', 'ports', '-', [3, 2, 2, 0]],
      ['dom0', 'priority', 3, [2, 1, 1, 0]],
      ['dom0', 'priority', 7, [1, 1, 1, 0]],
      ['guest', 'ports', '-', [0, 0, 0, 3]],
      ['guest', 'words', '-', [0, 0, 0, 2]],
    ]);
  });

  it('counts a port in the group it started waiting in, even if its priority changes meanwhile', () => {
    const s = new RunSampler(1, 100, domains, () => 0);
    s.portWaiting(0, 5, 7, 1);
    s.portHandled(0, 5, 2);
    s.portWaiting(0, 5, 3, 3);
    s.sample(100);
    expect(s.result().waiting.map((w) => [w.priority ?? w.kind, w.peak])).toEqual([
      ['ports', [1]],
      [3, [1]],
      [7, [1]],
    ]);
  });
});
