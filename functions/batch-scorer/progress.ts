/**
 * Batch progress for people: a cli-progress bar with rows/s and ETA on a terminal, plain lines (at most one a
 * second, and the last one) otherwise, so logs of CI jobs and `2> file` stay readable.
 */
import type { BatchProgress } from './coordinator.ts';
import { cliProgress } from './lazy-modules.ts';

export interface ProgressReporter {
  update(progress: BatchProgress): void;
  /** Ends the bar (or prints the last line if it was not printed). */
  stop(): void;
}

export interface ProgressOptions {
  /** A terminal to draw the bar on; without one, plain lines go to `write`. @defaultValue undefined */
  tty?: NodeJS.WriteStream;
  /** Where plain lines go. */
  write: (text: string) => void;
  /** Time source. @defaultValue Date.now */
  now?: () => number;
  /** Least time between two plain lines. @defaultValue 1000 */
  intervalMs?: number;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${Math.ceil(seconds % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

/** This run's rate: rows done since it started (resumed rows do not count) over its time. */
function rate(p: BatchProgress, startedAt: number, now: number): number {
  const seconds = (now - startedAt) / 1000;
  return seconds > 0 ? (p.doneRows - p.startRows) / seconds : 0;
}

export function progressReporter(options: ProgressOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const startedAt = now();
  let last: BatchProgress | undefined;
  if (options.tty) {
    const { Presets, SingleBar } = cliProgress();
    const bar = new SingleBar(
      {
        stream: options.tty,
        format:
          '{job} [{bar}] {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_left} | {failed} failed',
        hideCursor: true,
        fps: 5,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const speed = rate(p, startedAt, now());
        const payload = {
          job: p.job,
          speed: Math.round(speed),
          eta_left: speed > 0 ? eta((p.rows - p.doneRows) / speed) : '?',
          failed: p.failedRows,
        };
        if (!started) {
          bar.start(p.rows, p.doneRows, payload);
          started = true;
        } else bar.update(p.doneRows, payload);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  const interval = options.intervalMs ?? 1000;
  let printedAt = Number.NEGATIVE_INFINITY;
  let printed: BatchProgress | undefined;
  const line = (p: BatchProgress) => {
    const speed = rate(p, startedAt, now());
    const pct = p.rows === 0 ? 100 : (100 * p.doneRows) / p.rows;
    options.write(
      `${p.job}: ${p.doneRows}/${p.rows} rows (${pct.toFixed(1)}%), ${Math.round(speed)} rows/s, ETA ${
        speed > 0 ? eta((p.rows - p.doneRows) / speed) : '?'
      }, ${p.failedRows} failed\n`,
    );
    printed = p;
    printedAt = now();
  };
  return {
    update(p) {
      last = p;
      if (now() - printedAt >= interval || p.doneRows === p.rows) line(p);
    },
    stop() {
      if (last && last !== printed) line(last);
    },
  };
}
