import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Activator, type ActivatorFunction } from './activator.ts';
import { activatorInPath, excessBurstCapacity } from './burst.ts';
import { ConcurrencyMeter } from './meter.ts';
import { TestReplicas } from './test-replicas.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A replica that answers after `ms` and tracks how many requests it holds at once. */
async function replicaServer(
  ms = 0,
): Promise<{ port: number; max: () => number; served: () => number; server: Server }> {
  let current = 0;
  let max = 0;
  let served = 0;
  const server = createServer((req, res) => {
    current++;
    max = Math.max(max, current);
    req.resume();
    setTimeout(() => {
      current--;
      served++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }, ms);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, max: () => max, served: () => served, server };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function setup(
  settings: Partial<ActivatorFunction> = {},
  options: { maxQueue?: number; reportIntervalMs?: number } = {},
) {
  const runtime = new TestReplicas();
  const pokes: string[] = [];
  const records: { fn: string; concurrency: number; requests: number }[] = [];
  const activator = new Activator({
    runtime,
    autoscaler: {
      poke: (fn) => pokes.push(fn),
      record: (fn, load) => records.push({ fn, ...load }),
    },
    ...options,
    explain: () => 'autoscaler wants 1 (test)',
  });
  activator.upsert('default', 'f', { containerConcurrency: 1, timeoutSeconds: 5, ...settings });
  cleanup.push(() => activator.close());
  return { runtime, activator, pokes, records };
}

async function serve(n: number, ms: number) {
  const servers = await Promise.all(Array.from({ length: n }, () => replicaServer(ms)));
  cleanup.push(() => {
    for (const s of servers) s.server.close();
  });
  return servers;
}

describe('activator', () => {
  it('holds a request for a function at zero, pokes the autoscaler once at once, and serves it when a replica is ready', async () => {
    const { runtime, activator, pokes } = setup();
    const [replica] = await serve(1, 0);
    const pending = Promise.all([
      activator.dispatch('default', 'f', { body: Buffer.from('{}') }),
      activator.dispatch('default', 'f', { body: Buffer.from('{}') }),
    ]);
    await sleep(5);
    expect(pokes).toEqual(['default/f']);
    expect(activator.load('default', 'f')).toMatchObject({ queued: 2, ready: 0, inPath: true });
    runtime.set('default/f', [{ port: replica!.port }]);
    const answers = await pending;
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200]);
    expect(replica!.max()).toBe(1); // containerConcurrency 1: one after the other
  });

  it('answers 503 with a reason and Retry-After when the queue is full, and 504 explaining why at the deadline', async () => {
    const { activator } = setup({ timeoutSeconds: 0.3 }, { maxQueue: 2 });
    const answers = await Promise.all(
      Array.from({ length: 3 }, () => activator.dispatch('default', 'f', { body: Buffer.from('{}') })),
    );
    const [a, b, full] = answers;
    expect(full!.statusCode).toBe(503);
    expect(full!.headers['retry-after']).toBe('1');
    expect(JSON.parse(full!.body.toString())).toEqual({
      code: 'ES_ERR_BACKEND_FULL',
      error: 'default/f: activator queue full (2 waiting); 0 replicas ready',
    });
    for (const late of [a, b]) {
      expect(late!.statusCode).toBe(504);
      expect(JSON.parse(late!.body.toString()).error).toMatch(
        /^default\/f: queued 0\.\ds until the deadline: no replica is running; autoscaler wants 1 \(test\)$/,
      );
    }
  });

  it('names a crashing replica in the 504', async () => {
    const { runtime, activator } = setup({ timeoutSeconds: 0.2 });
    runtime.set('default/f', [{ ready: false, state: 'backoff', lastError: 'exited with code 3: boom' }]);
    const res = await activator.dispatch('default', 'f', { body: Buffer.from('{}') });
    expect(JSON.parse(res.body.toString()).error).toMatch(/replica r0 is failing: exited with code 3: boom/);
  });

  it('never gives a replica more than containerConcurrency requests, in or out of the path', async () => {
    for (const targetBurstCapacity of [-1, 0]) {
      const { runtime, activator } = setup({ containerConcurrency: 2, targetBurstCapacity });
      const servers = await serve(3, 30);
      runtime.set(
        'default/f',
        servers.map((s) => ({ port: s.port })),
      );
      expect(activator.load('default', 'f')!.inPath).toBe(targetBurstCapacity === -1);
      const answers = await Promise.all(
        Array.from({ length: 40 }, () => activator.dispatch('default', 'f', { body: Buffer.from('{}') })),
      );
      expect(answers.every((a) => a.statusCode === 200)).toBe(true);
      expect(servers.map((s) => s.max())).toEqual([2, 2, 2]);
      expect(servers.reduce((n, s) => n + s.served(), 0)).toBe(40);
    }
  });

  it('reports time-averaged concurrency (queued included) and requests every interval, out of the path too', async () => {
    const { runtime, activator, records } = setup(
      { containerConcurrency: 0, targetBurstCapacity: 0 },
      { reportIntervalMs: 200 },
    );
    const [replica] = await serve(1, 400);
    runtime.set('default/f', [{ port: replica!.port }]);
    expect(activator.load('default', 'f')!.inPath).toBe(false);
    activator.start();
    await sleep(20);
    await Promise.all(Array.from({ length: 4 }, () => activator.dispatch('default', 'f', { body: Buffer.from('{}') })));
    await sleep(450);
    const mine = records.filter((r) => r.fn === 'default/f');
    expect(mine.reduce((n, r) => n + r.requests, 0)).toBe(4);
    // 4 requests of ~400 ms = 1.6 request-seconds over reports of 0.2 s each
    const area = mine.reduce((n, r) => n + r.concurrency * 0.2, 0);
    expect(area).toBeGreaterThan(1.2);
    expect(area).toBeLessThan(2.4);
    expect(Math.max(...mine.map((r) => r.concurrency))).toBeLessThanOrEqual(4.01);
    expect(mine.at(-1)!.concurrency).toBe(0);
  });

  it('steps into the path when a burst exceeds the spare capacity (target burst capacity), and out again', async () => {
    const { runtime, activator } = setup(
      { containerConcurrency: 10, targetBurstCapacity: 15, panicWindowMs: 300 },
      { reportIntervalMs: 100 },
    );
    const servers = await serve(3, 250);
    runtime.set(
      'default/f',
      servers.map((s) => ({ port: s.port })),
    );
    // 3 × 10 − 0 − 15 ≥ 0: out of the path while idle
    expect(activator.load('default', 'f')!.inPath).toBe(false);
    activator.start();
    const burst = Promise.all(
      Array.from({ length: 25 }, () => activator.dispatch('default', 'f', { body: Buffer.from('{}') })),
    );
    await sleep(220);
    expect(activator.load('default', 'f')!.inPath).toBe(true); // 30 − ~25 − 15 < 0
    await burst;
    await sleep(700);
    expect(activator.load('default', 'f')!.inPath).toBe(false);
  });

  it('answers 404 for an unknown function and fails waiting requests of a removed one', async () => {
    const { activator } = setup();
    expect((await activator.dispatch('default', 'nope', {})).statusCode).toBe(404);
    const waiting = activator.dispatch('default', 'f', { body: Buffer.from('{}') });
    await sleep(5);
    activator.remove('default', 'f');
    expect((await waiting).statusCode).toBe(404);
    expect(activator.has('default', 'f')).toBe(false);
  });
});

describe('target burst capacity rule', () => {
  it('follows Knative: excess = ready × capacity − panic load − TBC; 0 = out when ready; -1 = always in', () => {
    const base = { ready: 3, capacityPerReplica: 10, panicValue: 5 };
    expect(excessBurstCapacity({ ...base, targetBurstCapacity: 20 })).toBe(5);
    expect(activatorInPath({ ...base, targetBurstCapacity: 20 })).toBe(false);
    expect(activatorInPath({ ...base, targetBurstCapacity: 26 })).toBe(true);
    expect(activatorInPath({ ...base, panicValue: 500, targetBurstCapacity: 0 })).toBe(false);
    expect(activatorInPath({ ...base, ready: 0, targetBurstCapacity: 0 })).toBe(true);
    expect(activatorInPath({ ...base, ready: 100, targetBurstCapacity: -1 })).toBe(true);
    expect(activatorInPath({ ...base, ready: 1, panicValue: 0, targetBurstCapacity: 200 })).toBe(true);
  });
});

describe('ConcurrencyMeter', () => {
  it('averages in-flight requests over time and counts arrivals per interval', () => {
    const m = new ConcurrencyMeter(0);
    m.arrive(0);
    m.arrive(500);
    m.leave(750);
    expect(m.take(1000)).toEqual({ concurrency: 1.25, requests: 2, ms: 1000 });
    m.leave(1500);
    expect(m.take(2000)).toEqual({ concurrency: 0.5, requests: 0, ms: 1000 });
    expect(m.take(3000)).toEqual({ concurrency: 0, requests: 0, ms: 1000 });
  });
});
