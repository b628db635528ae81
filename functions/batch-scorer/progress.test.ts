import { describe, expect, it } from 'vitest';
import type { BatchProgress } from './coordinator.ts';
import { progressReporter } from './progress.ts';

const p = (doneRows: number, extra: Partial<BatchProgress> = {}): BatchProgress => ({
  job: 'b1',
  rows: 10_000,
  doneRows,
  failedRows: 0,
  startRows: 0,
  chunks: 40,
  doneChunks: Math.floor(doneRows / 250),
  ...extra,
});

describe('progressReporter without a terminal', () => {
  it('prints at most a line a second with rows/s of this run and ETA, and always the last one', () => {
    let now = 1_000_000;
    const lines: string[] = [];
    const r = progressReporter({ write: (t) => lines.push(t), now: () => now });
    r.update(p(2000, { startRows: 2000 }));
    now += 500;
    r.update(p(3000, { startRows: 2000 }));
    now += 600;
    r.update(p(4200, { startRows: 2000, failedRows: 3 }));
    now += 100;
    r.update(p(4500, { startRows: 2000, failedRows: 3 }));
    r.stop();
    expect(lines).toEqual([
      'b1: 2000/10000 rows (20.0%), 0 rows/s, ETA ?, 0 failed\n',
      // 2,200 rows of this run in 1.1 s; resumed rows do not count.
      'b1: 4200/10000 rows (42.0%), 2000 rows/s, ETA 3s, 3 failed\n',
      'b1: 4500/10000 rows (45.0%), 2083 rows/s, ETA 3s, 3 failed\n',
    ]);
  });

  it('prints the final 100 % line at once', () => {
    let now = 0;
    const lines: string[] = [];
    const r = progressReporter({ write: (t) => lines.push(t), now: () => now });
    r.update(p(0));
    now += 10;
    r.update(p(10_000));
    r.stop();
    expect(lines.at(-1)).toMatch(/10000\/10000 rows \(100\.0%\), 1000000 rows\/s, ETA 0s/);
    expect(lines).toHaveLength(2);
  });
});
