// Fault tests of the durable channels (issue 3), with real engines and the platform as a real process:
//  - the engine stops while events stream in: 503 + Retry-After, never 202 for what was not stored; recovery by
//    itself within 10 s; every 202 delivered;
//  - the platform is SIGKILLed mid-stream (engines keep running): after `up` on the same state directory every 202
//    reaches the subscriber; lost = 0, duplicates reported;
//  - a subscriber failing half the attempts: delivered + dead-lettered = accepted.
import { createServer } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { describeWithEngine, type EngineName, engines } from '../support/engines.ts';
import { EventStream } from '../support/event-stream.ts';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { startPrivateEngine } from '../support/private-engine.ts';
import { startSubscriber } from '../support/subscriber.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const urlFlag: Record<EngineName, string> = { nats: '--nats', kafka: '--kafka', redis: '--redis' };
let counter = 0;
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${counter++}`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A subscriber that records the ids it got (ce-id), counting repeats. */
async function idSubscriber(fail = 0) {
  const seen = new Map<string, number>();
  const sub = await startSubscriber((req, res) => {
    const id = String(req.headers['ce-id']);
    if (fail > 0 && Math.random() < fail) {
      res.writeHead(500).end();
      return;
    }
    seen.set(id, (seen.get(id) ?? 0) + 1);
    res.writeHead(202).end();
  });
  cleanups.push(() => sub.close());
  return { ...sub, seen };
}

function resources(broker: string, subscriber: string, delivery = '') {
  return `apiVersion: eventing.elastic-serving.dev/v1
kind: Broker
metadata: { name: ${broker}, namespace: default }
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: ${broker}-t, namespace: default }
spec:
  broker: ${broker}
  subscriber: { uri: "${subscriber}" }
${delivery ? `  delivery: ${delivery}\n` : ''}`;
}

async function applyAndWait(platform: PlatformProcess, yaml: string, trigger: string): Promise<void> {
  const applied = await platform.cli(['apply', '-f', '-'], yaml);
  expect(applied.code, applied.stderr).toBe(0);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await platform.cli(['get', 'trigger', trigger, '-o', 'json']);
    const ready = r.code === 0 && /"type":\s*"Ready",\s*"status":\s*"True"/.test(r.stdout);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`trigger ${trigger} not ready: ${r.stdout}${r.stderr}`);
    await sleep(200);
  }
}

async function waitDelivered(accepted: Set<string>, seen: Map<string, unknown>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const missing = () => [...accepted].filter((id) => !seen.has(id));
  while (missing().length > 0 && Date.now() < deadline) await sleep(250);
  return missing();
}

for (const engine of ['nats', 'kafka', 'redis'] as const) {
  await describeWithEngine(engine, `channel faults: ${engine}`, () => {
    it(`${engine} stops while events stream in: 503 with Retry-After, recovery within 10 s, every 202 delivered`, async () => {
      const server = await startPrivateEngine(engine, { persistent: true });
      cleanups.push(() => server.destroy());
      const sub = await idSubscriber();
      const platform = await startPlatformProcess([
        '--no-demo',
        '--channel',
        engine,
        urlFlag[engine],
        server.url,
        '--log-level',
        'warn',
      ]);
      cleanups.push(() => platform.stop());
      const broker = unique('fault');
      await applyAndWait(platform, resources(broker, sub.url), `${broker}-t`);
      const stream = new EventStream(`${platform.urls.ingress}/default/${broker}`, { prefix: 'e', concurrency: 8 });
      stream.start();
      await sleep(1500);
      const beforeStop = stream.counts.accepted;
      await server.stop();
      const stoppedAt = Date.now();
      await sleep(3000);
      const acceptedWhileDown = stream.acceptedAt.filter((t) => t > stoppedAt + 1000).length;
      await server.start();
      const restartedAt = Date.now();
      const deadline = restartedAt + 10_000;
      while (!stream.acceptedAt.some((t) => t > restartedAt) && Date.now() < deadline) await sleep(50);
      const recoveredMs = (stream.acceptedAt.find((t) => t > restartedAt) ?? Number.NaN) - restartedAt;
      await sleep(1500);
      await stream.stop();
      const missing = await waitDelivered(stream.accepted, sub.seen, 30_000);
      console.log(
        `[faults] ${engine} engine stop: ${JSON.stringify(stream.counts)}; accepted before stop ${beforeStop}; recovered in ${recoveredMs} ms; lost ${missing.length}`,
      );
      expect(beforeStop).toBeGreaterThan(0);
      expect(acceptedWhileDown).toBe(0);
      expect(stream.counts.unavailable).toBeGreaterThan(0);
      expect(stream.counts.unavailableWithoutRetryAfter).toBe(0);
      expect(stream.counts.unexpected).toEqual({});
      expect(recoveredMs).toBeLessThanOrEqual(10_000);
      expect(missing).toEqual([]);
    }, 120_000);

    it(`platform SIGKILLed while 10,000 events stream through ${engine}: every 202 delivered after up again`, async () => {
      const sub = await idSubscriber();
      const ports = [await freePort(), await freePort(), await freePort()];
      const prefix = unique('kill');
      const args = [
        '--no-demo',
        '--channel',
        engine,
        urlFlag[engine],
        engines[engine].url,
        '--channel-prefix',
        prefix,
        '--ingress-port',
        String(ports[0]),
        '--gateway-port',
        String(ports[1]),
        '--control-port',
        String(ports[2]),
        '--log-level',
        'warn',
      ];
      const first = await startPlatformProcess(args);
      const broker = unique('kill');
      await applyAndWait(first, resources(broker, sub.url), `${broker}-t`);
      const stream = new EventStream(`${first.urls.ingress}/default/${broker}`, {
        prefix: 'k',
        concurrency: 32,
        total: 10_000,
      });
      stream.start();
      while (stream.counts.accepted < 4000) await sleep(20);
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
      const second = await startPlatformProcess(args, { stateDir: first.stateDir });
      cleanups.push(async () => {
        await second.cli(['delete', 'broker', broker]);
        await second.stop();
      });
      await stream.finished();
      await stream.stop();
      const missing = await waitDelivered(stream.accepted, sub.seen, 120_000);
      const deliveries = [...sub.seen.values()].reduce((a, b) => a + b, 0);
      const duplicates = deliveries - sub.seen.size;
      const duplicatePct = (100 * duplicates) / stream.accepted.size;
      console.log(
        `[faults] ${engine} kill -9: accepted ${stream.accepted.size} of 10000, lost ${missing.length}, duplicates ${duplicates} (${duplicatePct.toFixed(3)} %)`,
      );
      expect(stream.accepted.size).toBeGreaterThan(9000);
      expect(missing).toEqual([]);
      expect(stream.counts.unexpected).toEqual({});
    }, 240_000);

    it(`a subscriber failing 50 % of attempts on ${engine}: delivered + dead-lettered = accepted`, async () => {
      const sub = await idSubscriber(0.5);
      const dls = await idSubscriber();
      const platform = await startPlatformProcess([
        '--no-demo',
        '--channel',
        engine,
        urlFlag[engine],
        engines[engine].url,
        '--channel-prefix',
        unique('dls'),
        '--log-level',
        'warn',
      ]);
      const broker = unique('half');
      cleanups.push(async () => {
        await platform.cli(['delete', 'broker', broker]);
        await platform.stop();
      });
      const delivery = `{ retry: 2, backoffPolicy: linear, backoffDelay: PT0.01S, deadLetterSink: { uri: "${dls.url}" } }`;
      await applyAndWait(platform, resources(broker, sub.url, delivery), `${broker}-t`);
      const stream = new EventStream(`${platform.urls.ingress}/default/${broker}`, {
        prefix: 'h',
        concurrency: 16,
        total: 1000,
      });
      stream.start();
      await stream.finished();
      await stream.stop();
      const deadline = Date.now() + 60_000;
      const settled = () => [...stream.accepted].filter((id) => sub.seen.has(id) || dls.seen.has(id)).length;
      while (settled() < stream.accepted.size && Date.now() < deadline) await sleep(200);
      const both = [...sub.seen.keys()].filter((id) => dls.seen.has(id));
      console.log(
        `[faults] ${engine} 50 % failing subscriber: accepted ${stream.accepted.size}, delivered ${sub.seen.size}, dead-lettered ${dls.seen.size}, both ${both.length}`,
      );
      expect(stream.accepted.size).toBe(1000);
      expect(settled()).toBe(stream.accepted.size);
      expect(dls.seen.size).toBeGreaterThan(0);
    }, 120_000);
  });
}
