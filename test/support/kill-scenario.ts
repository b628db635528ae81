import { rmSync } from 'node:fs';
import type { EngineName } from './engines.ts';
import { EventStream } from './event-stream.ts';
import { freePort } from './free-port.ts';
import { type PlatformProcess, startPlatformProcess } from './platform-process.ts';
import { startSubscriber } from './subscriber.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const URL_FLAG: Record<EngineName, string> = { nats: '--nats', kafka: '--kafka', redis: '--redis' };

export interface KillOutcome {
  sent: number;
  accepted: number;
  /** Accepted ids the subscriber never got. Must be 0. */
  lost: number;
  /** Deliveries beyond the first of an id. */
  duplicates: number;
  duplicatePct: number;
  unexpectedStatuses: Record<string, number>;
}

/** Subscriber that counts deliveries per CloudEvent id. */
export async function countingSubscriber(failRatio = 0) {
  const seen = new Map<string, number>();
  const sub = await startSubscriber((req, res) => {
    if (failRatio > 0 && Math.random() < failRatio) {
      res.writeHead(500).end();
      return;
    }
    const id = String(req.headers['ce-id']);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    res.writeHead(202).end();
  });
  return { ...sub, seen };
}

export function brokerAndTrigger(broker: string, subscriber: string, delivery = ''): string {
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

/** Applies resources with the CLI and waits until the trigger is Ready. */
export async function applyAndWaitTrigger(platform: PlatformProcess, yaml: string, trigger: string): Promise<void> {
  const applied = await platform.cli(['apply', '-f', '-'], yaml);
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await platform.cli(['get', 'trigger', trigger, '-o', 'json']);
    if (r.code === 0 && /"type":\s*"Ready",\s*"status":\s*"True"/.test(r.stdout)) return;
    if (Date.now() > deadline) throw new Error(`trigger ${trigger} not ready: ${r.stdout}${r.stderr}`);
    await sleep(200);
  }
}

/** Waits until every accepted id was seen; returns those still missing at the deadline. */
export async function waitDelivered(accepted: Set<string>, seen: Map<string, unknown>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const missing = () => [...accepted].filter((id) => !seen.has(id));
  while (missing().length > 0 && Date.now() < deadline) await sleep(250);
  return missing();
}

/**
 * Streams `total` events through a platform on `engine` (a shared, running engine), SIGKILLs the platform after
 * `killAfter` were accepted, starts `up` again on the same state directory and ports, lets the stream finish, and
 * counts what the subscriber got.
 */
export async function runKillScenario(
  engine: EngineName,
  engineUrl: string,
  opts: { total?: number; killAfter?: number; concurrency?: number; deliveredWithinMs?: number } = {},
): Promise<KillOutcome> {
  const total = opts.total ?? 10_000;
  const sub = await countingSubscriber();
  const tag = `kill-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const ports = [await freePort(), await freePort(), await freePort()];
  const args = [
    '--no-demo',
    '--channel',
    engine,
    URL_FLAG[engine],
    engineUrl,
    '--channel-prefix',
    tag,
    '--ingress-port',
    String(ports[0]),
    '--gateway-port',
    String(ports[1]),
    '--control-port',
    String(ports[2]),
    '--log-level',
    'warn',
  ];
  const first = await startPlatformProcess(args, { keepStateDir: true });
  let second: PlatformProcess | undefined;
  try {
    await applyAndWaitTrigger(first, brokerAndTrigger(tag, sub.url), `${tag}-t`);
    const stream = new EventStream(`${first.urls.ingress}/default/${tag}`, {
      prefix: 'k',
      concurrency: opts.concurrency ?? 32,
      total,
    });
    stream.start();
    while (stream.counts.accepted < (opts.killAfter ?? total * 0.4)) await sleep(10);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    second = await startPlatformProcess(args, { stateDir: first.stateDir });
    await stream.finished();
    await stream.stop();
    const missing = await waitDelivered(stream.accepted, sub.seen, opts.deliveredWithinMs ?? 120_000);
    const deliveries = [...sub.seen.values()].reduce((a, b) => a + b, 0);
    const duplicates = deliveries - sub.seen.size;
    await second.cli(['delete', 'broker', tag]);
    return {
      sent: stream.counts.sent,
      accepted: stream.accepted.size,
      lost: missing.length,
      duplicates,
      duplicatePct: (100 * duplicates) / Math.max(1, stream.accepted.size),
      unexpectedStatuses: stream.counts.unexpected,
    };
  } finally {
    if (first.child.exitCode === null && first.child.signalCode === null) await first.stop();
    await second?.stop();
    await sub.close();
    rmSync(first.stateDir, { recursive: true, force: true });
  }
}
