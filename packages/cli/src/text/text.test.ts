import { describe, expect, it } from 'vitest';
import { RunProgress, progressMode, type ProgressStream } from './progress.js';
import { formatTable } from './table.js';
import { formatDuration, formatRate, formatWallTime } from './units.js';

describe('formatDuration', () => {
  it('reads in the natural unit with three significant digits', () => {
    expect(formatDuration(20_000_000)).toBe('20 ms');
    expect(formatDuration(12_345)).toBe('12.3 us');
    expect(formatDuration(2_300)).toBe('2.3 us');
    expect(formatDuration(850)).toBe('850 ns');
    expect(formatDuration(1.5e9)).toBe('1.5 s');
    expect(formatDuration(999_600)).toBe('1 ms');
    expect(formatDuration(0)).toBe('0 ns');
  });
  it('formats wall times and rates', () => {
    expect(formatWallTime(42)).toBe('42s');
    expect(formatWallTime(185)).toBe('3m05s');
    expect(formatWallTime(7620)).toBe('2h07m');
    expect(formatRate(1_234_567)).toBe('1.23M events/s');
    expect(formatRate(850)).toBe('850 events/s');
  });
});

describe('formatTable', () => {
  it('keeps numbers right-aligned whatever their width', () => {
    const text = formatTable([{ header: 'domain' }, { header: 'sent' }, { header: 'delivered' }], [
      ['dom0', 1436, 1401],
      ['web', 12_345_678, 7],
      ['a-long-name', 5, 1_000_000],
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines).toEqual([
      'domain           sent  delivered',
      'dom0             1436       1401',
      'web          12345678          7',
      'a-long-name         5    1000000',
    ]);
    // Every number column ends at the same place on every line.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});

function fakeStream(isTTY: boolean): ProgressStream & { text: string } {
  const s = { text: '', isTTY, columns: 100, write: (t: string) => void (s.text += t) };
  return s;
}

describe('run progress', () => {
  it('is shown on a terminal by default, off a terminal only with --progress, never with --no-progress', () => {
    expect(progressMode(undefined, fakeStream(true), {})).toBe('redraw');
    expect(progressMode(undefined, fakeStream(false), {})).toBe('off');
    expect(progressMode(true, fakeStream(false), {})).toBe('lines');
    expect(progressMode(false, fakeStream(true), {})).toBe('off');
    expect(progressMode(undefined, fakeStream(true), { TERM: 'dumb' })).toBe('lines');
  });

  it('redraws one line with events/s and ETA, with no escape sequences', () => {
    let now = 0;
    const s = fakeStream(true);
    const p = new RunProgress(s, 'redraw', () => now);
    now = 1000;
    p.update(5e6, 20e6, 50_000);
    now = 2000;
    p.update(10e6, 20e6, 100_000);
    p.finish(20e6, 200_000);
    expect(s.text).toContain('run:  25%  5 ms of 20 ms virtual  50k events/s  ETA 3s');
    expect(s.text).toContain('run:  50%  10 ms of 20 ms virtual  50k events/s  ETA 2s');
    expect(s.text).not.toContain('\x1b'); // no cursor hiding, no wrap toggling, nothing to restore
    expect(s.text.endsWith('\r')).toBe(true); // the line is blanked at the end
  });

  it('prints plain lines off a terminal, not more often than asked', () => {
    let now = 0;
    const s = fakeStream(false);
    const p = new RunProgress(s, 'lines', () => now, 5000);
    for (let i = 1; i <= 10; i++) {
      now = i * 1000;
      p.update(i * 1e6, 10e6, i * 1000);
    }
    p.finish(10e6, 10_000);
    const lines = s.text.trimEnd().split('\n');
    expect(lines).toHaveLength(3); // at 1 s and 6 s, and the summary
    expect(lines[2]).toBe('run: 10 ms of virtual time done in 10s, 10000 events, 1k events/s');
    expect(s.text).not.toMatch(/[\r\x1b]/);
  });
});
