/** Sent first on the same schedule and not measured: opens the connections and warms both sides' JIT. */
const WARMUP_SECONDS = 2;

/**
 * The schedule of an open-loop load generator: `WARMUP_SECONDS` then `seconds` of sends at `rate` per second,
 * whatever the answers do, calling `send(scheduledAt, measured)` for each (`measured` false during the warm-up);
 * resolves once everything is sent.
 *
 * It sleeps on a timer between sends and then sends everything that is due, so a send can leave up to about a
 * timer tick (1 ms) late; latencies are measured from the scheduled time, so that lateness is counted, never
 * hidden. It never spins: an earlier version yielded with setImmediate whenever the next send was less than a
 * tick away, which at 1,000/s kept one of the machine's two cores busy in the load generator and took it from
 * the system under test (measured, memory channel, 1,000 events/s: machine 80 % busy and end-to-end p99 6–20 ms
 * spinning; 30 % busy and p99 3.7 ms sleeping).
 */
export async function runSchedule(
  rate: number,
  seconds: number,
  send: (scheduledAt: number, measured: boolean) => void,
): Promise<void> {
  const warmup = rate * WARMUP_SECONDS;
  const total = warmup + rate * seconds;
  const now = () => performance.timeOrigin + performance.now();
  const start = now();
  const due = (i: number) => start + (i * 1000) / rate;
  let sent = 0;
  while (sent < total) {
    const wait = due(sent) - now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    while (sent < total && due(sent) <= now()) {
      send(due(sent), sent >= warmup);
      sent++;
    }
  }
}
