// Scale from zero end to end: `elastic-serving up` with short autoscaler windows, Functions reached through
// broker → trigger → activator and straight through the gateway, replicas watched from outside (status, logs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { startSubscriber } from '../support/subscriber.ts';
import { apply, broker, post, sleep, trigger, uniqueNames, waitCondition, waitTriggers } from './e2e-helpers.ts';
import {
  atZero,
  type FunctionStatus,
  fnRef,
  functionStatus,
  functionYaml,
  median,
  metric,
  replicaLogLines,
  waitStatus,
  writeScaleHandler,
} from './scaling-support.ts';

let platform: PlatformProcess;
let handlerDir: string;
let handler: string;
const unique = uniqueNames('scale');
// Stable window 2 s, panic window 0.5 s, a decision every 0.2 s, zero after 2 s + 0.5 s without traffic.
const WINDOWS = ['--stable-window-ms', '2000', '--panic-window-percentage', '25', '--autoscaler-tick-ms', '200'];

beforeAll(async () => {
  handlerDir = mkdtempSync(join(tmpdir(), 'es-e2e-scale-'));
  handler = writeScaleHandler(handlerDir);
  platform = await startPlatformProcess([
    '--no-demo',
    '--log-level',
    'warn',
    ...WINDOWS,
    '--scale-to-zero-grace-ms',
    '500',
    '--shutdown-grace-ms',
    '4000',
  ]);
}, 60_000);
afterAll(async () => {
  await platform?.stop();
  rmSync(handlerDir, { recursive: true, force: true });
});

/** A broker with a trigger to `fn` for `type`, and one routing the function's replies to `replies`. */
async function wire(fn: string, type: string, replies: string, delivery = '') {
  const b = unique('b');
  const t = unique('t');
  const r = unique('t');
  await apply(
    platform,
    `${broker(b)}---\n${trigger(t, b, fnRef(fn), `  filter: { attributes: { type: ${type} } }\n${delivery}`)}---\n` +
      trigger(r, b, replies, '  filter: { attributes: { type: e2e.scale.reply } }'),
  );
  await waitCondition(platform, 'broker', b);
  await waitTriggers(platform, [t, r]);
  return `${platform.urls.ingress}/default/${b}`;
}

describe('scale from zero', () => {
  it('starts a function at zero for an event through broker → trigger → activator (ingress → handler start recorded)', async () => {
    const calls = await startSubscriber();
    const replies = await startSubscriber();
    onTestFinished(() => Promise.all([calls.close(), replies.close()]).then(() => undefined));
    const f = unique('cold');
    await apply(
      platform,
      functionYaml(f, {
        handler,
        annotations: { 'autoscaling.knative.dev/initial-scale': '0' },
        env: { CALLS_URL: calls.url },
      }),
    );
    // Ready while at zero, as a Knative revision with no traffic is.
    const idle = await waitStatus(platform, f, (s) => s.conditions?.[0]?.reason === 'ScaledToZero');
    expect(idle).toMatchObject({ readyReplicas: 0, desiredReplicas: 0, scaling: { activatorInPath: true } });
    expect(idle.conditions?.[0]?.status).toBe('True');
    const ingress = await wire(f, 'e2e.cold', replies.url);

    const fromIngress: number[] = [];
    const fromArrival: number[] = [];
    for (let i = 0; i < 3; i++) {
      await waitStatus(platform, f, atZero, 15_000);
      const sent = Date.now();
      expect((await post(ingress, `cold-${i}`, 'e2e.cold', { 'content-type': 'application/json' }, '{}')).status).toBe(
        202,
      );
      const started = Number((await calls.waitFor(i + 1, 10_000))[i]!.headers['x-start']);
      fromIngress.push(started - sent);
      await replies.waitFor(i + 1, 10_000);
      const reply = JSON.parse(replies.received[i]!.body.toString()) as { startedAt: number; arrival: string };
      fromArrival.push(reply.startedAt - Date.parse(reply.arrival));
    }
    console.log(
      `cold start at 0 replicas, event → handler running: sent to ingress ${fromIngress.join(', ')} ms ` +
        `(median ${median(fromIngress)}); stored at ingress (knativearrivaltime) ${fromArrival.join(', ')} ms`,
    );
    expect(calls.received.map((r) => r.headers['x-id'])).toEqual(['cold-0', 'cold-1', 'cold-2']);
    // Generous for a loaded 2-core machine; the bench holds the real figure (p50 ≤ 250 ms, max ≤ 500 ms).
    expect(Math.max(...fromIngress)).toBeLessThan(3_000);
    const status = await functionStatus(platform, f);
    expect(status.scaling?.mode).toBe('autoscaled');
  }, 40_000);

  it('scales out on a step within the panic window, never above max-scale, drains on scale-down, back to 0', async () => {
    const f = unique('step');
    await apply(
      platform,
      functionYaml(f, {
        handler,
        spec: '  containerConcurrency: 2\n  scaling: { minScale: 0, maxScale: 4, target: 2 }\n',
      }),
    );
    await waitStatus(platform, f, (s) => s.readyReplicas === 1, 20_000);
    const url = `${platform.urls.gateway}/default/${f}`;
    const statuses = new Map<number, number>();
    const pids = new Set<number>();
    const call = async (ms: number) => {
      const res = await request(url, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': `s${Math.random()}`, 'ce-source': '/e2e', 'ce-type': 'e2e.step' },
        body: JSON.stringify({ ms }),
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const body = (await res.body.json()) as { pid?: number };
      if (body.pid) pids.add(body.pid);
    };
    const seen: { at: number; ready: number; desired: number }[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const s: FunctionStatus = await functionStatus(platform, f);
        seen.push({ at: Date.now(), ready: s.readyReplicas ?? 0, desired: s.desiredReplicas ?? 0 });
        await sleep(100);
      }
    })();
    onTestFinished(async () => {
      watching = false;
      await watcher;
    });

    // One request at a time, then a step to 16 at once.
    let until = Date.now() + 1_200;
    while (Date.now() < until) await call(100);
    const step = Date.now();
    until = step + 3_000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) await call(150);
      }),
    );
    const scaledOut = seen.find((s) => s.at >= step && s.ready >= 4);
    expect(scaledOut, JSON.stringify(seen)).toBeDefined();
    console.log(`step 1 → 16 concurrent: 4 replicas ready ${scaledOut!.at - step} ms after the step`);
    expect(scaledOut!.at - step).toBeLessThan(3_000);

    // Four long requests, one per replica; the scale-down to 3 that follows must let the stopped one finish.
    // Panic mode ends a stable window (2 s) after the burst, then the scale goes 4 → 3 while these still run.
    await Promise.all(Array.from({ length: 4 }, () => call(5_000)));
    watching = false;
    await watcher;
    expect(Math.max(...seen.map((s) => Math.max(s.ready, s.desired))), JSON.stringify(seen)).toBeLessThanOrEqual(4);
    expect(pids.size, [...pids].join()).toBeLessThanOrEqual(7); // 4 at most at a time; a replica stopped and started again is new
    expect([...statuses.keys()], JSON.stringify([...statuses])).toEqual([200]);
    const drained = replicaLogLines(platform, f).filter(
      (l) => /"msg":"draining"/.test(l) && /"inFlight":[1-9]/.test(l),
    );
    expect(drained.length, 'a replica was stopped while it had a request in flight').toBeGreaterThanOrEqual(1);

    const t0 = Date.now();
    await waitStatus(platform, f, atZero, 15_000);
    console.log(`idle → 0 replicas in ${Date.now() - t0} ms (stable window 2 s + grace 0.5 s)`);
    expect((await functionStatus(platform, f)).conditions?.[0]).toMatchObject({
      status: 'True',
      reason: 'ScaledToZero',
    });
  }, 45_000);

  it('retries per the trigger delivery spec when a replica is SIGKILLed under load, and loses nothing', async () => {
    const replies = await startSubscriber();
    onTestFinished(() => replies.close());
    const f = unique('kill');
    await apply(platform, functionYaml(f, { handler, spec: '  containerConcurrency: 4\n  replicas: 2\n' }));
    const ready = await waitStatus(platform, f, (s) => s.readyReplicas === 2, 20_000);
    expect(ready.scaling?.mode).toBe('fixed');
    const ingress = await wire(
      f,
      'e2e.kill',
      replies.url,
      '  delivery: { retry: 6, backoffPolicy: linear, backoffDelay: PT0.2S }',
    );
    const ids = Array.from({ length: 40 }, (_, i) => `kill-${i}`);
    for (const id of ids) {
      expect((await post(ingress, id, 'e2e.kill', { 'content-type': 'application/json' }, '{"ms":200}')).status).toBe(
        202,
      );
    }
    const [first] = await replies.waitFor(6, 10_000);
    const victim = JSON.parse(first!.body.toString()).pid as number;
    process.kill(victim, 'SIGKILL');
    await replies.waitFor(40, 20_000);
    const done = new Set(replies.received.map((r) => JSON.parse(r.body.toString()).id as string));
    expect([...done].sort()).toEqual([...ids].sort());
    // Every retry is a new request to the activator: more requests than events means the trigger retried.
    const requests = await metric(platform, 'es_activator_requests_total', { function: f });
    console.log(`SIGKILL under load: 40 events, ${requests} activator requests, ${replies.received.length} replies`);
    expect(requests).toBeGreaterThan(40);
    const after = await waitStatus(platform, f, (s) => s.readyReplicas === 2 && (s.replicaRestarts ?? 0) >= 1);
    expect(after.lastReplicaFailure).toMatch(/SIGKILL/);
  }, 45_000);
});
