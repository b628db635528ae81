// Closed-loop step load, in its own process: BEFORE workers each keep one request in flight for BEFORE_S seconds,
// then AFTER workers for AFTER_S seconds (a step); with STEPS > 1 the load falls back to BEFORE for REST_S seconds
// and steps again. Each request is a small binary-mode CloudEvent. Prints one JSON line at the end: the wall time
// of each step (epoch ms, the clock of performance.timeOrigin-based stamps in other processes) with the answers
// counted during it, and the answers counted at the lower load.
//   step-load.ts <url> <before> <beforeSeconds> <after> <afterSeconds> [steps=1] [restSeconds=beforeSeconds]
import { Pool } from 'undici';

const [url, beforeArg, beforeSecondsArg, afterArg, afterSecondsArg, stepsArg = '1', restArg] = process.argv.slice(2);
if (!url || !beforeArg || !beforeSecondsArg || !afterArg || !afterSecondsArg) {
  console.error('usage: step-load <url> <before> <beforeSeconds> <after> <afterSeconds> [steps] [restSeconds]');
  process.exit(2);
}
const target = new URL(url);
const before = Number(beforeArg);
const after = Number(afterArg);
const pool = new Pool(target.origin, { connections: after });
const now = () => performance.timeOrigin + performance.now();
const body = JSON.stringify({ step: true });
interface Counted {
  ok: number;
  failed: number;
}
const low: Counted = { ok: 0, failed: 0 };
const steps: (Counted & { at: number })[] = [];
let counted: Counted = low;
let active = 0;
let running = true;
let seq = 0;
const workers: Promise<void>[] = [];

/** Worker `i` keeps one request in flight while fewer than `active` workers are wanted. */
async function worker(i: number): Promise<void> {
  while (running && i < active) {
    const into = counted;
    try {
      const res = await pool.request({
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': `step-${process.pid}-${seq++}`,
          'ce-source': '/bench/step',
          'ce-type': 'dev.elasticserving.bench',
        },
        body,
      });
      await res.body.dump();
      if (res.statusCode < 300) into.ok++;
      else into.failed++;
    } catch {
      into.failed++;
    }
  }
}

function load(n: number): void {
  const from = active;
  active = n;
  for (let i = from; i < n; i++) workers.push(worker(i));
}

const pause = (seconds: number) => new Promise((r) => setTimeout(r, seconds * 1000));
load(before);
await pause(Number(beforeSecondsArg));
for (let s = 0; s < Number(stepsArg); s++) {
  if (s > 0) {
    counted = low;
    load(before);
    await pause(Number(restArg ?? beforeSecondsArg));
  }
  const step = { at: now(), ok: 0, failed: 0 };
  steps.push(step);
  counted = step;
  load(after);
  await pause(Number(afterSecondsArg));
}
running = false;
await Promise.all(workers);
await pool.close();
process.stdout.write(`${JSON.stringify({ steps, low })}\n`);
