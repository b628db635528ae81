/**
 * How well the machine kept scheduling while an open-loop figure was measured: a 10 ms timer in the bench process
 * (idle while it waits for the load generator) notes every tick that fired 10 ms or more late. On this kind of
 * machine (a 2-vCPU VM) every process, ours and the engines alike, sometimes stops for 20–70 ms at the same moment;
 * one such stall puts dozens of samples of a 1,000/s run above a 15 ms p99. The count goes in the figure's note so a
 * tail can be told apart from the code under test; it never changes the figure.
 */
const TICK_MS = 10;
const LATE_MS = 10;

export interface Stalls {
  /** Ticks that fired at least LATE_MS late. */
  count: number;
  /** The latest tick's lateness, ms. */
  longestMs: number;
}

export async function watchStalls<T>(work: () => Promise<T>): Promise<{ value: T; stalls: Stalls }> {
  const stalls: Stalls = { count: 0, longestMs: 0 };
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - TICK_MS;
    last = now;
    if (late < LATE_MS) return;
    stalls.count++;
    stalls.longestMs = Math.max(stalls.longestMs, late);
  }, TICK_MS);
  try {
    return { value: await work(), stalls };
  } finally {
    clearInterval(timer);
  }
}

export function stallsNote(s: Stalls): string {
  return `scheduling stalls >= ${LATE_MS} ms seen by an idle probe: ${s.count}${s.count ? ` (longest ${s.longestMs.toFixed(0)} ms)` : ''}`;
}
