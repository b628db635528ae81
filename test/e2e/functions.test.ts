// Functions end to end: a Function resource served by `elastic-serving up`, reached by a Trigger's subscriber.ref
// and directly on the function gateway; replies re-enter the broker; handler failures surface as status or as
// non-retried deliveries.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
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
let handlerDir: string;
const unique = uniqueNames('fn');

beforeAll(async () => {
  handlerDir = mkdtempSync(join(tmpdir(), 'es-e2e-handlers-'));
  platform = await startPlatformProcess(['--no-demo', '--log-level', 'warn']);
}, 60_000);
afterAll(async () => {
  await platform?.stop();
  rmSync(handlerDir, { recursive: true, force: true });
});

function fn(name: string, handler: string, env = '') {
  return `apiVersion: serving.elastic-serving.dev/v1
kind: Function
metadata: { name: ${name}, namespace: default }
spec:
  handler: ${handler}
${env ? `  env:\n${env}\n` : ''}`;
}

const fnRef = (name: string) =>
  `{ ref: { apiVersion: serving.elastic-serving.dev/v1, kind: Function, name: ${name} } }`;

describe('functions on the embedded platform', () => {
  it('serves a Function at its gateway address, reached by a trigger ref, with the reply re-entering the broker', async () => {
    const replies = await startSubscriber();
    const b = unique('b');
    const f = unique('echo');
    const toFn = unique('t');
    const toReplies = unique('t');
    await apply(
      platform,
      `${fn(f, 'functions/examples/echo/index.ts')}---\n${broker(b)}---\n` +
        `${trigger(toFn, b, fnRef(f), '  filter: { attributes: { type: e2e.fn.ask } }')}---\n` +
        `${trigger(toReplies, b, replies.url, '  filter: { attributes: { type: dev.elasticserving.echo.reply } }')}`,
    );
    await waitCondition(platform, 'function', f, 'True', 20_000);
    // The user's view of readiness: `get function NAME -o json`.
    const got = await platform.cli(['get', 'function', f, '-o', 'json']);
    expect(got.code, got.stderr).toBe(0);
    const obj = JSON.parse(got.stdout);
    expect(readyOf(obj)?.status).toBe('True');
    const address: string = obj.status.address.url;
    expect(address).toBe(`${platform.urls.gateway}/default/${f}`);
    await waitCondition(platform, 'broker', b);
    await waitTriggers(platform, [toFn, toReplies]);

    const emit = emitterFor(httpTransport(`${platform.urls.ingress}/default/${b}`), { mode: Mode.BINARY });
    await emit(
      new CloudEvent({ type: 'e2e.fn.ask', source: '/e2e/fn', id: 'ask-1', data: { hello: 'function', n: 1 } }),
    );
    const [reply] = await replies.waitFor(1, 10_000);
    expect(reply!.headers['ce-type']).toBe('dev.elasticserving.echo.reply');
    expect(reply!.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(JSON.parse(reply!.body.toString())).toEqual({ hello: 'function', n: 1 });

    // Straight to the gateway, as any HTTP client would: a 200 whose answer is the reply CloudEvent.
    const direct = await post(
      address,
      'direct-1',
      'e2e.fn.direct',
      { 'content-type': 'application/json' },
      '{"direct":true}',
    );
    expect(direct.status).toBe(200);
    expect(direct.headers.get('ce-type')).toBe('dev.elasticserving.echo.reply');
    expect(direct.headers.get('ce-specversion')).toBe('1.0');
    expect(direct.headers.get('ce-id')).toBeTruthy();
    expect(direct.headers.get('ce-source')).toBe(`/functions/${f}`);
    expect(await direct.json()).toEqual({ direct: true });

    // Structured mode to the gateway works too.
    const structured = await fetch(address, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 's-1',
        source: '/e2e',
        type: 'e2e.fn.s',
        datacontenttype: 'application/json',
        data: { s: 1 },
      }),
    });
    expect(structured.status).toBe(200);
    expect(structured.headers.get('ce-type')).toBe('dev.elasticserving.echo.reply');
    expect(structured.headers.get('ce-source')).toBe(`/functions/${f}`);
    expect(await structured.json()).toEqual({ s: 1 });
    await sleep(200);
    expect(replies.received).toHaveLength(1); // direct calls do not go through the broker
    await replies.close();
  });

  it('reports a Function whose handler file does not exist as Ready False naming the file, and keeps serving', async () => {
    const f = unique('missing');
    await apply(platform, fn(f, 'functions/examples/no-such-function/index.ts'));
    const obj = await waitCondition(platform, 'function', f, 'False', 10_000);
    const ready = readyOf(obj)!;
    expect(ready.reason).toMatch(/^[A-Za-z]+$/);
    expect(ready.message).toMatch(/spec\.handler/);
    expect(ready.message).toMatch(/no-such-function/);
    expect(ready.message).toMatch(/not found/i);
    // The platform did not crash: its control API and ingress still answer.
    expect(platform.child.exitCode).toBeNull();
    const described = await platform.cli(['describe', 'function', f]);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/no-such-function/);
    const res = await fetch(`${platform.urls.ingress}/default/no-such-broker`, { method: 'POST' });
    expect(res.status).toBe(404);
    // The gateway does not serve a function that never became ready, and says so rather than hanging.
    const gw = await post(`${platform.urls.gateway}/default/${f}`, 'x', 'e2e.fn.none');
    expect(gw.status).toBe(404);
    expect(await gw.json()).toMatchObject({ code: 'ES_ERR_NOT_FOUND', error: expect.stringContaining(f) });
  });

  it('does not retry a handler that throws NonRetriableError: one attempt, then the dead-letter sink', async () => {
    const calls = await startSubscriber();
    const dls = await startSubscriber();
    const handler = join(handlerDir, 'reject.ts');
    writeFileSync(
      handler,
      `import { defineFunction, NonRetriableError } from 'elastic-serving/sdk';
export default defineFunction(async (event) => {
  await fetch(process.env.CALLS_URL!, { method: 'POST', headers: { 'x-id': event.id } });
  throw new NonRetriableError('cannot handle ' + event.id, { status: 422 });
});
`,
    );
    const b = unique('b');
    const f = unique('reject');
    const t = unique('t');
    await apply(
      platform,
      `${fn(f, handler, `    - { name: CALLS_URL, value: "${calls.url}" }`)}---\n${broker(b)}---\n` +
        trigger(
          t,
          b,
          fnRef(f),
          `  delivery: { retry: 3, backoffDelay: PT0.1S, deadLetterSink: { uri: "${dls.url}" } }`,
        ),
    );
    await waitCondition(platform, 'function', f, 'True', 20_000);
    await waitCondition(platform, 'broker', b);
    await waitTriggers(platform, [t]);
    expect((await post(`${platform.urls.ingress}/default/${b}`, 'nr-1', 'e2e.fn.reject')).status).toBe(202);
    const [dead] = await dls.waitFor(1, 10_000);
    expect(dead!.headers['ce-id']).toBe('nr-1');
    expect(dead!.headers['ce-knativeerrorcode']).toBe('422');
    expect(dead!.headers['ce-knativeerrordest']).toBe(`${platform.urls.gateway}/default/${f}`);
    expect(Buffer.from(String(dead!.headers['ce-knativeerrordata']), 'base64').toString()).toMatch(
      /cannot handle nr-1/,
    );
    // With retry 3 and 0.1 s backoff, any retry would have landed well within this wait.
    await sleep(800);
    expect(calls.received.map((r) => r.headers['x-id'])).toEqual(['nr-1']);
    expect(dls.received).toHaveLength(1);
    await Promise.all([calls.close(), dls.close()]);
  });

  // BUG (see report): the status message of a crash-looping replica is the last 4 log lines, which for an uncaught
  // error are stack frames and Node's version footer, so the error message itself never reaches `describe`.
  it('says why a replica whose init throws keeps failing (the error message is in the Ready condition)', async () => {
    const handler = join(handlerDir, 'init-fails.ts');
    writeFileSync(
      handler,
      `import { defineFunction } from 'elastic-serving/sdk';
export default defineFunction(async () => 1, { init: () => { throw new Error('model file missing: /models/m.bin'); } });
`,
    );
    const f = unique('initfail');
    await apply(platform, fn(f, handler));
    try {
      const obj = await waitReadyWhere(
        platform,
        'function',
        f,
        (c) => c.status === 'False' && c.reason === 'ReplicaFailing',
        15_000,
      );
      expect(platform.child.exitCode).toBeNull();
      expect(readyOf(obj)!.message).toContain('model file missing: /models/m.bin');
    } finally {
      // Stop the crash loop for the rest of the file.
      await fetch(`${platform.urls.control}/apis/serving.elastic-serving.dev/v1/namespaces/default/functions/${f}`, {
        method: 'DELETE',
      });
    }
  });

  // BUG (see report): a Trigger whose subscriber.ref names a Function that does not exist is Ready True (Knative
  // marks it SubscriberResolved=False / Ready=False), and events sent meanwhile are retried into 404s and dropped.
  it('keeps a Trigger whose subscriber Function does not exist not Ready until the Function appears', async () => {
    const replies = await startSubscriber();
    const b = unique('b');
    const f = unique('later');
    const t = unique('t');
    await apply(
      platform,
      `${broker(b)}---\n${trigger(t, b, fnRef(f), '  filter: { attributes: { type: e2e.fn.later } }')}`,
    );
    onTestFinished(() => replies.close());
    const before = await waitReadyWhere(platform, 'trigger', t, () => true, 5_000);
    expect(readyOf(before)!.status).toBe('False');
    expect(readyOf(before)!.message).toContain(f);
    await apply(
      platform,
      `${fn(f, 'functions/examples/echo/index.ts')}---\n${trigger(unique('t'), b, replies.url, '  filter: { attributes: { type: dev.elasticserving.echo.reply } }')}`,
    );
    await waitCondition(platform, 'function', f, 'True', 20_000);
    await waitCondition(platform, 'trigger', t, 'True', 10_000);
    expect((await post(`${platform.urls.ingress}/default/${b}`, 'later-1', 'e2e.fn.later')).status).toBe(202);
    await replies.waitFor(1);
  });
});
