// Limits and shutdown of `elastic-serving up`: metrics after traffic, the memory channel bound (503 + Retry-After,
// nothing accepted is lost), and SIGTERM: ingress closed first, in-flight deliveries finished, exit 0.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { startSubscriber } from '../support/subscriber.ts';
import { apply, broker, post, sleep, trigger, uniqueNames, waitCondition, waitTriggers } from './e2e-helpers.ts';

let platform: PlatformProcess;
const others: PlatformProcess[] = [];
const unique = uniqueNames('down');

beforeAll(async () => {
  platform = await startPlatformProcess(['--no-demo', '--log-level', 'error', '--shutdown-grace-ms', '4000']);
}, 60_000);
afterAll(async () => {
  await Promise.all([platform, ...others].map((p) => p?.stop()));
  // stop() leaves the state directory behind when the process had already exited (the SIGTERM test).
  if (platform) rmSync(platform.stateDir, { recursive: true, force: true });
});

/** PIDs of processes whose command line mentions `needle` (function replicas run a file under the state dir). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** One POST on a fresh TCP connection (no pooled keep-alive socket), resolving with the status or the error code. */
function freshPost(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { 'ce-specversion': '1.0', 'ce-id': 'probe', 'ce-source': '/e2e', 'ce-type': 'e2e.probe' },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

async function setup(p: PlatformProcess, subscriberUrl: string, extra = '') {
  const b = unique('b');
  const t = unique('t');
  await apply(p, `${broker(b)}---\n${trigger(t, b, subscriberUrl, extra)}`);
  await waitCondition(p, 'broker', b);
  await waitTriggers(p, [t]);
  return { b, t, url: `${p.urls.ingress}/default/${b}` };
}

describe('metrics, limits and shutdown', () => {
  it('exposes ingress, delivery, latency and dead-letter metrics on the control API after traffic', async () => {
    const ok = await startSubscriber();
    const failing = await startSubscriber((_r, res) => res.writeHead(500).end('no'));
    const dls = await startSubscriber();
    const b = unique('b');
    const [tOk, tDead] = [unique('t'), unique('t')];
    await apply(
      platform,
      `${broker(b)}---\n${trigger(tOk, b, ok.url)}---\n` +
        trigger(tDead, b, failing.url, `  delivery: { retry: 0, deadLetterSink: { uri: "${dls.url}" } }`),
    );
    await waitCondition(platform, 'broker', b);
    await waitTriggers(platform, [tOk, tDead]);
    const url = `${platform.urls.ingress}/default/${b}`;
    for (let i = 0; i < 5; i++) expect((await post(url, `m-${i}`, 'e2e.metrics')).status).toBe(202);
    expect((await fetch(url, { method: 'POST', headers: { 'ce-specversion': '1.0' } })).status).toBe(400);
    await ok.waitFor(5);
    await dls.waitFor(5);
    await sleep(100);
    const res = await fetch(`${platform.urls.control}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const sample = (name: string, labels: Record<string, string>) => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    expect(sample('es_ingress_events_total', { broker: b, outcome: 'accepted' })).toBe(5);
    expect(sample('es_ingress_events_total', { broker: b, outcome: 'rejected' })).toBe(1);
    expect(sample('es_router_deliveries_total', { trigger: tOk, outcome: 'delivered' })).toBe(5);
    expect(sample('es_router_deliveries_total', { trigger: tDead, outcome: 'dead_lettered' })).toBe(5);
    expect(sample('es_router_delivery_duration_seconds_count', { trigger: tOk })).toBe(5);
    expect(sample('es_router_delivery_duration_seconds_bucket', { trigger: tOk, le: '+Inf' })).toBe(5);
    expect(sample('es_router_dead_letters_total', { trigger: tDead })).toBe(5);
    await Promise.all([ok.close(), failing.close(), dls.close()]);
  });

  it('bounds the memory channel: 503 + Retry-After when full, and every accepted event is delivered', async () => {
    const small = await startPlatformProcess(['--no-demo', '--log-level', 'error', '--memory-max-events', '20']);
    others.push(small);
    const held: ServerResponse[] = [];
    const sub = await startSubscriber((_r, res) => held.push(res)); // answers nothing until released
    const { url } = await setup(small, sub.url, '  delivery: { retry: 3, backoffDelay: PT0.1S, timeout: PT30S }');
    const accepted = new Set<string>();
    const refusals: { retryAfter: string | null; body: { error?: string; code?: string } }[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await post(url, `flood-${i}`, 'e2e.flood');
      if (res.status === 202) accepted.add(`flood-${i}`);
      else {
        expect(res.status).toBe(503);
        refusals.push({ retryAfter: res.headers.get('retry-after'), body: await res.json() });
      }
    }
    // Nothing is acknowledged while the subscriber holds its answers, so exactly the bound gets in.
    expect(accepted.size).toBe(20);
    expect(refusals.length).toBe(100 - accepted.size);
    for (const r of refusals) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(r.body.code).toBe('ES_ERR_BACKEND_FULL');
      expect(r.body.error).toMatch(/full/i);
    }
    // A batch is refused whole while the channel is full.
    const batch = [1, 2].map((i) => ({ specversion: '1.0', id: `batch-${i}`, source: '/e2e', type: 'e2e.flood' }));
    const batchRes = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(batch),
    });
    expect(batchRes.status).toBe(503);
    expect(batchRes.headers.get('retry-after')).toBeTruthy();
    // Release the subscriber: everything that got a 202 arrives, exactly once; nothing refused does.
    sub.setResponder((_r, res) => res.writeHead(202).end());
    for (const res of held.splice(0)) res.writeHead(202).end();
    await sub.waitFor(accepted.size, 10_000);
    await sleep(300);
    const ids = sub.received.map((r) => String(r.headers['ce-id']));
    expect(ids.length).toBe(accepted.size);
    expect(new Set(ids)).toEqual(accepted);
    // The channel has room again once the events are acknowledged, and a refused event resent as the 503 asked
    // is taken (a refusal must not leave its source+id in the dedup window).
    expect((await post(url, 'after-flood', 'e2e.flood')).status).toBe(202);
    expect((await post(url, 'flood-99', 'e2e.flood')).status).toBe(202);
    await sub.waitFor(accepted.size + 2);
    expect(
      sub.received
        .slice(accepted.size)
        .map((r) => r.headers['ce-id'])
        .sort(),
    ).toEqual(['after-flood', 'flood-99']);
    expect(await small.stop()).toBe(0);
    await sub.close();
  });

  it('on SIGTERM closes the ingress first, finishes in-flight deliveries, then exits 0 within the grace period', async () => {
    const finished: string[] = [];
    const aborted: string[] = [];
    // Slow subscriber: each answer is held until the test has seen the ingress refuse, then sent 300 ms later, so
    // "ingress closed while deliveries are still in flight" does not depend on how loaded the machine is.
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    const sub = await startSubscriber((r, res) => {
      const id = String(r.headers['ce-id']);
      res.on('close', () => (res.writableFinished ? finished : aborted).push(id));
      void released.then(() => setTimeout(() => res.writeHead(202).end(), 300));
    });
    const { url } = await setup(platform, sub.url);
    const f = unique('echo');
    await apply(
      platform,
      `apiVersion: serving.elastic-serving.dev/v1\nkind: Function\nmetadata: { name: ${f}, namespace: default }\nspec:\n  handler: functions/examples/echo/index.ts\n`,
    );
    await waitCondition(platform, 'function', f, 'True', 20_000);
    const replicas = processesMentioning(`${platform.stateDir}/`).filter((pid) => pid !== platform.child.pid);
    expect(replicas.length).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 10; i++) expect((await post(url, `inflight-${i}`, 'e2e.shutdown')).status).toBe(202);
    await sub.waitFor(10, 2_000);
    expect(finished).toHaveLength(0); // all ten are in flight right now

    const signalled = Date.now();
    let exitedAt = 0;
    const exited = new Promise<number | null>((r) =>
      platform.child.once('exit', (code) => {
        exitedAt = Date.now();
        r(code);
      }),
    );
    platform.child.kill('SIGTERM');
    // The ingress stops taking connections right away, while deliveries are still finishing.
    let probe: number | string = 0;
    while (probe !== 'ECONNREFUSED' && Date.now() - signalled < 2_000) {
      await sleep(10);
      probe = await freshPost(url);
    }
    const refusedAt = Date.now();
    expect(platform.child.exitCode).toBeNull(); // still finishing its deliveries
    release();
    expect(probe).toBe('ECONNREFUSED');
    expect(refusedAt - signalled).toBeLessThan(1_000);
    expect(finished).toHaveLength(0);

    const code = await Promise.race([exited, sleep(6_000).then(() => 'timeout' as const)]);
    expect(code).toBe(0);
    expect(exitedAt - signalled).toBeLessThan(4_000); // --shutdown-grace-ms 4000
    expect(exitedAt - refusedAt).toBeGreaterThanOrEqual(250); // it waited for the answers, 300 ms after release
    expect(aborted).toEqual([]);
    expect(finished.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `inflight-${i}`).sort());
    expect(sub.received).toHaveLength(10); // no redelivery of what had completed
    // Function replicas were stopped with the platform, none left behind.
    const alive = replicas.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    expect(platform.output()).toMatch(/SIGTERM: stopping/);
    expect(platform.output()).toMatch(/stopped/);
    await sub.close();
  });
});
