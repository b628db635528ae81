// Drives the platform like a user: `elastic-serving up` in a child process, Knative-shaped YAML applied with the
// CLI, events sent with the cloudevents SDK emitter and raw HTTP, a real subscriber server checking what arrived.
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { startSubscriber } from '../support/subscriber.ts';

let platform: PlatformProcess;
beforeAll(async () => {
  platform = await startPlatformProcess(['--no-demo']);
}, 60_000);
afterAll(async () => {
  await platform?.stop();
});

const unique = (() => {
  let n = 0;
  return (prefix: string) => `${prefix}-${Date.now().toString(36)}-${n++}`;
})();

async function apply(yaml: string) {
  const r = await platform.cli(['apply', '-f', '-'], yaml);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

async function waitReady(kind: string, name: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await platform.cli(['get', kind, name, '-o', 'json']);
    const obj = r.code === 0 ? JSON.parse(r.stdout) : undefined;
    const ready = obj?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
    if (ready?.status === 'True') return obj;
    if (Date.now() > deadline) throw new Error(`${kind}/${name} not ready: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

function broker(name: string, delivery = '') {
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${name}, namespace: default }
${delivery ? `spec:\n  delivery: ${delivery}\n` : ''}`;
}

function trigger(name: string, brokerName: string, subscriberUri: string, extra = '') {
  return `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name}, namespace: default }
spec:
  broker: ${brokerName}
  subscriber: { uri: "${subscriberUri}" }
${extra}
`;
}

describe('broker and triggers, end to end', () => {
  it('delivers binary, structured and batched events to every matching trigger, without the broker TTL', async () => {
    const sub = await startSubscriber();
    const other = await startSubscriber();
    const sql = await startSubscriber();
    const b = unique('b');
    await apply(
      `${broker(b)}---\n${trigger(unique('t'), b, sub.url, '  filter: { attributes: { type: e2e.order } }')}---\n${trigger(unique('t'), b, other.url, '  filters: [ { prefix: { type: e2e.ord } } ]')}---\n${trigger(unique('t'), b, other.url, '  filter: { attributes: { type: never.matches } }')}---\n${trigger(unique('t'), b, sql.url, `  filters: [ { cesql: "type = 'e2e.order' AND myext = 'v'" } ]`)}`,
    );
    await waitReady('broker', b);
    const url = `${platform.urls.ingress}/default/${b}`;
    await new Promise((r) => setTimeout(r, 300)); // triggers become ready right after the broker
    for (const mode of [Mode.BINARY, Mode.STRUCTURED]) {
      const emit = emitterFor(httpTransport(url), { mode });
      await emit(new CloudEvent({ type: 'e2e.order', source: '/e2e', id: `sdk-${mode}`, data: { mode }, myext: 'v' }));
    }
    const batch = [1, 2].map((i) => ({
      specversion: '1.0',
      id: `batch-${i}`,
      source: '/e2e',
      type: 'e2e.order',
      data: { i },
    }));
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(batch),
    });
    expect(res.status).toBe(202);
    const got = await sub.waitFor(4);
    await other.waitFor(4);
    const ids = got.map((r) => r.headers['ce-id']).sort();
    expect(ids).toEqual(['batch-1', 'batch-2', 'sdk-binary', 'sdk-structured']);
    for (const r of got) {
      expect(r.headers['ce-knativebrokerttl']).toBeUndefined();
      expect(r.headers['ce-knativearrivaltime']).toMatch(/^\d{4}-/);
      expect(r.headers.prefer).toBe('reply');
    }
    const structured = got.find((r) => r.headers['ce-id'] === 'sdk-structured')!;
    expect(structured.headers['ce-myext']).toBe('v');
    expect(JSON.parse(structured.body.toString())).toEqual({ mode: 'structured' });
    const bySql = await sql.waitFor(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(sub.received).toHaveLength(4);
    expect(bySql.map((r) => r.headers['ce-id']).sort()).toEqual(['sdk-binary', 'sdk-structured']);
    await Promise.all([sub.close(), other.close(), sql.close()]);
  });

  it('retries with backoff, then dead-letters with the knativeerror* extensions', async () => {
    const failing = await startSubscriber((_r, res, n) => res.writeHead(n <= 2 ? 503 : 200).end());
    const rejecting = await startSubscriber((_r, res) =>
      res.writeHead(500, { 'content-type': 'text/plain' }).end('boom'),
    );
    const dls = await startSubscriber();
    const b = unique('b');
    await apply(`${broker(b, '{ retry: 3, backoffPolicy: exponential, backoffDelay: PT0.2S }')}---
${trigger(unique('t'), b, failing.url, '  filter: { attributes: { type: e2e.retry } }')}---
${trigger(unique('t'), b, rejecting.url, `  filter: { attributes: { type: e2e.dead } }\n  delivery: { retry: 1, backoffDelay: PT0.1S, deadLetterSink: { uri: "${dls.url}" } }`)}`);
    await waitReady('broker', b);
    await new Promise((r) => setTimeout(r, 300));
    const send = (type: string, id: string) =>
      fetch(`${platform.urls.ingress}/default/${b}`, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e', 'ce-type': type },
      });
    expect((await send('e2e.retry', 'r1')).status).toBe(202);
    const attempts = await failing.waitFor(3);
    // exponential: 0.2 s × 2^n before retry n (n = 0, 1), as Knative counts
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(180);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(380);
    expect((await send('e2e.dead', 'd1')).status).toBe(202);
    const [dead] = await dls.waitFor(1);
    expect(rejecting.received).toHaveLength(2); // first attempt + 1 retry
    expect(dead!.headers['ce-id']).toBe('d1');
    expect(dead!.headers['ce-knativeerrorcode']).toBe('500');
    expect(dead!.headers['ce-knativeerrordest']).toBe(rejecting.url);
    expect(Buffer.from(String(dead!.headers['ce-knativeerrordata']), 'base64').toString()).toBe('boom');
    await Promise.all([failing.close(), rejecting.close(), dls.close()]);
  });

  it('publishes replies back to the broker, ends reply loops by TTL, treats a non-CloudEvent 200 as success', async () => {
    const replier = await startSubscriber((r, res) =>
      res
        .writeHead(200, {
          'ce-specversion': '1.0',
          'ce-id': `re-${r.headers['ce-id']}`,
          'ce-source': '/replier',
          'ce-type': 'e2e.reply',
          'content-type': 'application/json',
        })
        .end('{"ok":true}'),
    );
    const replies = await startSubscriber((_r, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"not":"an event"}'),
    );
    const looper = await startSubscriber((r, res) =>
      res
        .writeHead(200, {
          'ce-specversion': '1.0',
          'ce-id': `${r.headers['ce-id']}+`,
          'ce-source': '/loop',
          'ce-type': 'e2e.loop',
        })
        .end(),
    );
    const b = unique('b');
    await apply(`${broker(b)}---
${trigger(unique('t'), b, replier.url, '  filter: { attributes: { type: e2e.ask } }')}---
${trigger(unique('t'), b, replies.url, '  filter: { attributes: { type: e2e.reply } }')}---
${trigger(unique('t'), b, looper.url, '  filter: { attributes: { type: e2e.loop } }')}`);
    await waitReady('broker', b);
    await new Promise((r) => setTimeout(r, 300));
    const post = (headers: Record<string, string>) =>
      fetch(`${platform.urls.ingress}/default/${b}`, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-source': '/e2e', ...headers },
      });
    expect((await post({ 'ce-id': 'q1', 'ce-type': 'e2e.ask' })).status).toBe(202);
    const [reply] = await replies.waitFor(1);
    expect(reply!.headers['ce-id']).toBe('re-q1');
    expect(reply!.headers['ce-knativebrokerttl']).toBeUndefined();
    // A loop started with TTL 5 is delivered 5 times, then the reply with TTL 0 is dropped.
    expect((await post({ 'ce-id': 'l', 'ce-type': 'e2e.loop', 'ce-knativebrokerttl': '5' })).status).toBe(202);
    await looper.waitFor(5);
    await new Promise((r) => setTimeout(r, 500));
    expect(looper.received.map((r) => r.headers['ce-id'])).toEqual(['l', 'l+', 'l++', 'l+++', 'l++++']);
    await new Promise((r) => setTimeout(r, 200));
    expect(replies.received).toHaveLength(1);
    await Promise.all([replier.close(), replies.close(), looper.close()]);
  });

  it('accounts for every accepted event: delivered + dead-lettered = accepted with a subscriber failing half the time', async () => {
    let flip = 0;
    const flaky = await startSubscriber((_r, res) => res.writeHead(flip++ % 2 ? 200 : 500).end());
    const dls = await startSubscriber();
    const b = unique('b');
    await apply(
      `${broker(b)}---\n${trigger(unique('t'), b, flaky.url, `  delivery: { retry: 0, deadLetterSink: { uri: "${dls.url}" } }`)}`,
    );
    await waitReady('broker', b);
    await new Promise((r) => setTimeout(r, 300));
    let accepted = 0;
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${platform.urls.ingress}/default/${b}`, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': `acc-${i}`, 'ce-source': '/e2e', 'ce-type': 'e2e.acc' },
      });
      if (res.status === 202) accepted++;
    }
    expect(accepted).toBe(200);
    const deadline = Date.now() + 10_000;
    const delivered = () => flaky.received.length - dls.received.length;
    while (delivered() + dls.received.length < accepted || flaky.received.length < accepted) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const dead = new Set(dls.received.map((r) => r.headers['ce-id']));
    expect(flaky.received.length).toBe(accepted);
    expect(dead.size).toBe(dls.received.length);
    expect(delivered() + dead.size).toBe(accepted);
    expect(dead.size).toBeGreaterThan(50);
    await Promise.all([flaky.close(), dls.close()]);
  });
});
