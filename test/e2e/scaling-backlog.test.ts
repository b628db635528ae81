// Queue-depth scaling on a durable channel (issue 4): a trigger on a NATS or Kafka broker holding a backlog scales
// its consumer Function on the subscription's lag, and the Function goes back to zero once the backlog is gone.
// The trigger lets only 2 events in flight and the concurrency target is high, so only the lag can ask for more
// than one replica.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeWithEngine, engines } from '../support/engines.ts';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { startSubscriber } from '../support/subscriber.ts';
import { apply, broker, post, trigger, uniqueNames, waitCondition, waitTriggers } from './e2e-helpers.ts';
import {
  atZero,
  type FunctionStatus,
  fnRef,
  functionStatus,
  functionYaml,
  waitStatus,
  writeScaleHandler,
} from './scaling-support.ts';

const handlerDir = mkdtempSync(join(tmpdir(), 'es-e2e-backlog-'));
const handler = writeScaleHandler(handlerDir);
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  rmSync(handlerDir, { recursive: true, force: true });
});

const EVENTS = 60;

for (const engine of ['nats', 'kafka'] as const) {
  await describeWithEngine(engine, `queue-depth scaling on ${engine}`, () => {
    it(`a backlog on a ${engine} trigger scales its function on lag, and back to 0 once it is gone`, async () => {
      const unique = uniqueNames(`backlog-${engine}`);
      const platform: PlatformProcess = await startPlatformProcess([
        '--no-demo',
        '--log-level',
        'warn',
        '--channel',
        engine,
        engine === 'nats' ? '--nats' : '--kafka',
        engines[engine].url,
        '--channel-prefix',
        unique('p'),
        '--stable-window-ms',
        '2000',
        '--autoscaler-tick-ms',
        '200',
        '--scale-to-zero-grace-ms',
        '500',
      ]);
      const b = unique('b');
      cleanups.push(async () => {
        await platform.cli(['delete', 'broker', b]);
        await platform.stop();
      });
      const calls = await startSubscriber();
      cleanups.push(() => calls.close());
      const fn = unique('f');
      const t = unique('t');
      await apply(
        platform,
        functionYaml(fn, {
          handler,
          annotations: { 'autoscaling.knative.dev/initial-scale': '0' },
          env: { CALLS_URL: calls.url },
          spec: '  containerConcurrency: 0\n  scaling: { minScale: 0, maxScale: 4, target: 100, queue: { lagPerReplica: 10 } }\n',
        }),
      );
      await apply(
        platform,
        `${broker(b)}---\n${trigger(
          t,
          b,
          fnRef(fn),
          // The handler's replies go back to the broker: only the backlog's own events reach the function.
          '  filter: { attributes: { type: e2e.backlog } }',
          '    eventing.elastic-serving.dev/delivery.max-in-flight: "2"',
        )}`,
      );
      await waitCondition(platform, 'broker', b);
      await waitTriggers(platform, [t]);
      await waitStatus(platform, fn, atZero);

      const ingress = `${platform.urls.ingress}/default/${b}`;
      const answers = await Promise.all(
        Array.from({ length: EVENTS }, (_, i) =>
          post(ingress, `ev-${i}`, 'e2e.backlog', { 'content-type': 'application/json' }, '{"ms":150}'),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(new Array(EVENTS).fill(202));

      const seen: FunctionStatus[] = [];
      const scaledOut = await waitStatus(
        platform,
        fn,
        (s) => {
          seen.push(s);
          return (s.readyReplicas ?? 0) >= 3;
        },
        30_000,
      );
      const queueDriven = seen.some((s) => /queue/.test(s.scaling?.reason ?? ''));
      expect(queueDriven, JSON.stringify(seen.at(-1))).toBe(true);
      expect(Math.max(...seen.map((s) => s.desiredReplicas ?? 0))).toBeLessThanOrEqual(4);
      expect(scaledOut.readyReplicas).toBeGreaterThanOrEqual(3);

      await calls.waitFor(EVENTS, 60_000);
      const ids = new Set(calls.received.map((r) => String(r.headers['x-id'])));
      expect(ids.size).toBe(EVENTS);
      const back = await waitStatus(platform, fn, atZero, 30_000);
      expect(back.desiredReplicas).toBe(0);
      expect((await functionStatus(platform, fn)).readyReplicas).toBe(0);
    }, 120_000);
  });
}
