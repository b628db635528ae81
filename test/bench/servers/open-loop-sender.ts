// Open-loop load: sends events on a fixed schedule (RATE per second for SECONDS), never waiting for answers, so a
// slow system cannot slow the sender down and hide its queueing. Each event carries its scheduled send time in
// the `benchsent` extension (epoch ms, fractional); latency is measured from that time at the subscriber.
import { Pool } from 'undici';
import { runSchedule } from './open-loop-schedule.ts';

const [url, rateArg, secondsArg] = process.argv.slice(2);
if (!url || !rateArg || !secondsArg) {
  console.error('usage: open-loop-sender <url> <events-per-second> <seconds>');
  process.exit(2);
}
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const target = new URL(url);
const pool = new Pool(target.origin, { connections: 64 });
const body = JSON.stringify({ pad: 'x'.repeat(1000) });
const now = () => performance.timeOrigin + performance.now();

let ok = 0;
let failed = 0;
// Response latency from the scheduled send time: the open-loop figure of a plain HTTP server (the baseline).
const answered: number[] = [];
const start = now();
const inflight: Promise<void>[] = [];
let index = 0;
// The warm-up sends carry no `benchsent` and their answers are not counted.
await runSchedule(rate, seconds, (scheduled, measured) => {
  index++;
  const p = pool
    .request({
      path: target.pathname,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': `ol-${process.pid}-${index}`,
        'ce-source': '/bench/open-loop',
        'ce-type': 'dev.elasticserving.bench',
        ...(measured ? { 'ce-benchsent': scheduled.toFixed(3) } : {}),
      },
      body,
    })
    .then(async (res) => {
      await res.body.dump();
      if (!measured) return;
      answered.push(now() - scheduled);
      if (res.statusCode === 202) ok++;
      else failed++;
    })
    .catch(() => {
      if (measured) failed++;
    });
  inflight.push(p);
});
await Promise.all(inflight);
await pool.close();
answered.sort((a, b) => a - b);
const pct = (p: number) => answered[Math.min(answered.length - 1, Math.ceil((p / 100) * answered.length) - 1)] ?? null;
const elapsed = (now() - start) / 1000;
process.stdout.write(
  `${JSON.stringify({ sent: rate * seconds, ok, failed, seconds: elapsed, responseP50: pct(50), responseP99: pct(99) })}\n`,
);
