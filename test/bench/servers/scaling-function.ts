/**
 * The function of the scaling benchmark (npm run bench -- scaling), one handler for every figure:
 * - `dev.elasticserving.bench.coldstart`: stamps the wall time the handler starts and POSTs it, with the event id,
 *   to `data.reportTo` (a receiver the bench runs), so the bench reads back "handler running" for a cold start;
 * - anything else: waits `BENCH_DELAY_MS` (the Function's env; default 0) and answers 202 with no reply, a fixed
 *   service time so the concurrency the autoscaler sees follows from the request rate.
 */
import { request } from 'node:http';
import { defineFunction } from 'elastic-serving/sdk';

const delayMs = Number(process.env.BENCH_DELAY_MS ?? 0);
const now = () => performance.timeOrigin + performance.now();

function report(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(body);
  });
}

export default defineFunction(async (event) => {
  if (event.type === 'dev.elasticserving.bench.coldstart') {
    const started = now();
    const { reportTo } = event.data as { reportTo: string };
    await report(reportTo, JSON.stringify({ id: event.id, started, pid: process.pid }));
    return;
  }
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
});
