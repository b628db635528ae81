// PingSource into a broker, per-key ordering with an ordered trigger, and isolation between triggers: a subscriber
// that is down or slow never holds up another trigger on the same broker.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { startSubscriber } from '../support/subscriber.ts';
import {
  apply,
  broker,
  post,
  readyOf,
  sleep,
  trigger,
  uniqueNames,
  waitCondition,
  waitReadyWhere,
  waitTriggers,
} from './e2e-helpers.ts';

let platform: PlatformProcess;
const unique = uniqueNames('flow');
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  platform = await startPlatformProcess(['--no-demo', '--log-level', 'error']);
}, 60_000);
afterAll(async () => {
  await platform?.stop();
  await Promise.all(cleanups.map((c) => c()));
});

/** A loopback port nothing listens on (bound, then released), so connecting to it is refused. */
async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/down`;
}

describe('sources and flow control', () => {
  it('a PingSource with a seconds schedule emits dev.knative.sources.ping into a broker, every second', async () => {
    const sub = await startSubscriber();
    const b = unique('b');
    const p = unique('ping');
    const t = unique('t');
    await apply(
      platform,
      `${broker(b)}---\n${trigger(t, b, sub.url, '  filter: { attributes: { type: dev.knative.sources.ping } }')}---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: ${p}, namespace: default }
spec:
  schedule: "* * * * * *"
  contentType: application/json
  data: '{"hi":1}'
  sink:
    ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: ${b} }
`,
    );
    await waitCondition(platform, 'broker', b);
    await waitTriggers(platform, [t]);
    const started = Date.now();
    const got = await sub.waitFor(2, 4_500);
    expect(Date.now() - started).toBeLessThan(4_500);
    for (const r of got.slice(0, 2)) {
      expect(r.headers['ce-type']).toBe('dev.knative.sources.ping');
      expect(r.headers['ce-source']).toBe(`/apis/v1/namespaces/default/pingsources/${p}`);
      expect(r.headers['ce-specversion']).toBe('1.0');
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(r.body.toString())).toEqual({ hi: 1 });
    }
    expect(got[0]!.headers['ce-id']).not.toBe(got[1]!.headers['ce-id']);
    // Each event carries its scheduled tick as `time`: whole seconds, one second apart.
    const [t0, t1] = [0, 1].map((i) => Date.parse(String(got[i]!.headers['ce-time'])));
    expect(t0! % 1000).toBe(0);
    expect(t1! - t0!).toBe(1000);
    const del = await fetch(
      `${platform.urls.control}/apis/sources.knative.dev/v1/namespaces/default/pingsources/${p}`,
      { method: 'DELETE' },
    );
    expect(del.status).toBeLessThan(300);
    // Deleting the source stops it: at most one tick already on its way may still arrive.
    await sleep(300);
    const count = sub.received.length;
    await sleep(1_300);
    expect(sub.received.length).toBeLessThanOrEqual(count + 1);
    await sub.close();
  });

  // BUG (see report): a PingSource whose sink.ref names a Broker that does not exist is Ready True ("Scheduled")
  // and posts into 404s every tick; Knative reports the unresolvable sink (SinkProvided=False, Ready=False).
  it('a PingSource whose sink Broker does not exist is not Ready, and names the missing sink', async () => {
    const p = unique('ping');
    const missing = unique('nobroker');
    await apply(
      platform,
      `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: ${p}, namespace: default }
spec:
  schedule: "0 0 1 1 *"
  sink:
    ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: ${missing} }
`,
    );
    const obj = await waitReadyWhere(platform, 'pingsource', p, () => true, 5_000);
    expect(readyOf(obj)!.status).toBe('False');
    expect(readyOf(obj)!.message).toContain(missing);
  });

  it('an ordered trigger delivers per partition key in order, never two in flight for one key', async () => {
    const inFlight = new Map<string, number>();
    const overlaps: string[] = [];
    let peak = 0;
    const sub = await startSubscriber((r, res) => {
      const key = String(r.headers['ce-partitionkey']);
      const now = (inFlight.get(key) ?? 0) + 1;
      inFlight.set(key, now);
      if (now > 1) overlaps.push(`${key}:${r.headers['ce-id']}`);
      peak = Math.max(
        peak,
        [...inFlight.values()].reduce((a, v) => a + v, 0),
      );
      setTimeout(() => {
        inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
        res.writeHead(202).end();
      }, Math.random() * 20);
    });
    const b = unique('b');
    const t = unique('t');
    await apply(
      platform,
      `${broker(b)}---\n${trigger(t, b, sub.url, '', '    eventing.elastic-serving.dev/delivery.order: ordered')}`,
    );
    await waitCondition(platform, 'broker', b);
    await waitTriggers(platform, [t]);
    const keys = ['k-a', 'k-b', 'k-c'];
    const url = `${platform.urls.ingress}/default/${b}`;
    for (let i = 0; i < 30; i++) {
      const key = keys[i % 3]!;
      const res = await post(url, `${key}-${String(i).padStart(2, '0')}`, 'e2e.ordered', { 'ce-partitionkey': key });
      expect(res.status).toBe(202);
    }
    const got = await sub.waitFor(30, 10_000);
    expect(overlaps).toEqual([]);
    for (const key of keys) {
      const ids = got.filter((r) => r.headers['ce-partitionkey'] === key).map((r) => String(r.headers['ce-id']));
      expect(ids).toHaveLength(10);
      expect(ids).toEqual([...ids].sort());
    }
    await sleep(200);
    expect(sub.received).toHaveLength(30);
    // Ordered is per key: different keys are still delivered side by side.
    expect(peak).toBeGreaterThanOrEqual(2);
    await sub.close();
  });

  it('a subscriber that is down or very slow never blocks another trigger on the same broker', async () => {
    const healthy = await startSubscriber();
    const slow = await startSubscriber((_r, res) => {
      setTimeout(() => res.writeHead(202).end(), 3_000);
    });
    cleanups.push(() => slow.close());
    const down = await refusedUrl();
    const b = unique('b');
    const [tDown, tSlow, tOk] = [unique('t'), unique('t'), unique('t')];
    await apply(
      platform,
      `${broker(b)}---
${trigger(tDown, b, down, '  delivery: { retry: 2, backoffDelay: PT0.2S }')}---
${trigger(tSlow, b, slow.url, '  delivery: { retry: 0, timeout: PT10S }')}---
${trigger(tOk, b, healthy.url)}`,
    );
    await waitCondition(platform, 'broker', b);
    await waitTriggers(platform, [tDown, tSlow, tOk]);
    const url = `${platform.urls.ingress}/default/${b}`;
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect((await post(url, `iso-${i}`, 'e2e.iso')).status).toBe(202);
    const got = await healthy.waitFor(20, 2_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(new Set(got.map((r) => r.headers['ce-id'])).size).toBe(20);
    // The slow subscriber was being delivered to at the same time (it has not answered any of them yet).
    expect(slow.received.length).toBeGreaterThan(0);
    await healthy.close();
  });
});
