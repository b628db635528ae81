// The activator's bounded queue end to end: a small queue (--activator-queue 3) in front of a one-slot function.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { startSubscriber } from '../support/subscriber.ts';
import { apply, broker, post, trigger, uniqueNames, waitCondition, waitTriggers } from './e2e-helpers.ts';
import { fnRef, functionYaml, metric, waitStatus, writeScaleHandler } from './scaling-support.ts';

let platform: PlatformProcess;
let handlerDir: string;
let handler: string;
const unique = uniqueNames('scaleq');

beforeAll(async () => {
  handlerDir = mkdtempSync(join(tmpdir(), 'es-e2e-scaleq-'));
  handler = writeScaleHandler(handlerDir);
  platform = await startPlatformProcess(['--no-demo', '--log-level', 'warn', '--activator-queue', '3']);
}, 60_000);
afterAll(async () => {
  await platform?.stop();
  rmSync(handlerDir, { recursive: true, force: true });
});

describe('activator queue', () => {
  it('answers 503 with a reason and Retry-After when full, and the trigger retry policy delivers everything', async () => {
    const f = unique('narrow');
    await apply(platform, functionYaml(f, { handler, spec: '  containerConcurrency: 1\n  replicas: 1\n' }));
    await waitStatus(platform, f, (s) => s.readyReplicas === 1, 20_000);

    // Straight to the gateway: 1 in flight + 3 queued are served, the rest is refused at once.
    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await request(`${platform.urls.gateway}/default/${f}`, {
          method: 'POST',
          headers: { 'ce-specversion': '1.0', 'ce-id': `q${i}`, 'ce-source': '/e2e', 'ce-type': 'e2e.q' },
          body: '{"ms":300}',
        });
        return { status: res.statusCode, retryAfter: res.headers['retry-after'], body: await res.body.json() };
      }),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 503, 503, 503, 503]);
    const full = answers.find((a) => a.status === 503)!;
    expect(full.retryAfter).toBe('1');
    expect(full.body).toEqual({
      code: 'ES_ERR_BACKEND_FULL',
      error: `default/${f}: activator queue full (3 waiting); 1 replicas ready`,
    });

    // Through a trigger: the 503s are retried by its delivery spec until every event is in.
    const replies = await startSubscriber();
    onTestFinished(() => replies.close());
    const b = unique('b');
    const t = unique('t');
    const r = unique('t');
    await apply(
      platform,
      `${broker(b)}---\n` +
        `${trigger(t, b, fnRef(f), '  filter: { attributes: { type: e2e.q } }\n  delivery: { retry: 20, backoffPolicy: linear, backoffDelay: PT0.2S }')}---\n` +
        trigger(r, b, replies.url, '  filter: { attributes: { type: e2e.scale.reply } }'),
    );
    await waitCondition(platform, 'broker', b);
    await waitTriggers(platform, [t, r]);
    const rejectedBefore = await metric(platform, 'es_activator_rejected_total', { function: f, reason: 'queue_full' });
    expect(rejectedBefore).toBe(4);
    const ids = Array.from({ length: 10 }, (_, i) => `full-${i}`);
    for (const id of ids) {
      expect(
        (
          await post(
            `${platform.urls.ingress}/default/${b}`,
            id,
            'e2e.q',
            { 'content-type': 'application/json' },
            '{"ms":150}',
          )
        ).status,
      ).toBe(202);
    }
    await replies.waitFor(10, 25_000);
    expect(replies.received.map((x) => JSON.parse(x.body.toString()).id as string).sort()).toEqual([...ids].sort());
    const rejected = await metric(platform, 'es_activator_rejected_total', { function: f, reason: 'queue_full' });
    console.log(`queue full: ${rejected - rejectedBefore} trigger deliveries refused with 503 and retried`);
    expect(rejected).toBeGreaterThan(rejectedBefore);
    expect(await metric(platform, 'es_activator_queue_length', { function: f })).toBe(0);
  }, 45_000);
});
