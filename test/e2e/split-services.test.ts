// The platform split into its services, each the real CLI command in its own process, as docker-compose runs them:
// controller (control API), ingress (owns Broker status), router (owns Trigger status), sources (owns PingSource
// status), functions (gateway, activator, replicas; owns Function status), all talking through the control API's
// REST shape and a shared NATS JetStream channel.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithEngine, engines } from '../support/engines.ts';
import { startSubscriber } from '../support/subscriber.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'elastic-serving.mjs');
const TOKEN = `t-${Math.random().toString(36).slice(2)}`;
const PREFIX = `split-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface StatusObject {
  status?: { conditions?: Condition[]; address?: { url?: string }; [field: string]: unknown };
}

interface Service {
  child: ChildProcess;
  urls: Record<string, string>;
  output(): string;
  stop(): Promise<number | null>;
}

/** Starts `elastic-serving <args>` and waits for its "is up" banner; `  role  url` lines give its addresses. */
async function startService(args: string[], env: Record<string, string> = {}): Promise<Service> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ES_TOKEN: TOKEN, ES_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start in 30 s:\n${out}`)), 30_000);
    const check = () => {
      if (/is up\n(?: {2}\S+ +http\S+\n)+/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code} before it was up:\n${out}`)));
  });
  const urls = Object.fromEntries([...out.matchAll(/^ {2}(\S+) +(http\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const stop = async () => {
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(20_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      child.kill('SIGKILL');
      return null;
    }
    return code;
  };
  return { child, urls, output: () => out, stop };
}

function cli(args: string[], env: Record<string, string>, input?: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.stdin.end(input ?? '');
    c.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

await describeWithEngine(
  'nats',
  'split services: controller, ingress, router and sources as separate processes',
  () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'es-split-'));
    const services: Service[] = [];
    let control = '';
    let ingress = '';
    let gateway = '';
    const client = () => ({ ES_SERVER: control, ES_TOKEN: TOKEN, ES_INGRESS: ingress });

    const getObject = async (plural: string, name: string) => {
      const group =
        plural === 'pingsources'
          ? 'sources.elastic-serving.dev'
          : plural === 'functions'
            ? 'serving.elastic-serving.dev'
            : 'eventing.elastic-serving.dev';
      const res = await fetch(`${control}/apis/${group}/v1/namespaces/default/${plural}/${name}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return res.status === 404 ? undefined : ((await res.json()) as StatusObject);
    };
    const ready = (obj: StatusObject | undefined) => obj?.status?.conditions?.find((c) => c.type === 'Ready');
    const waitReady = async (plural: string, name: string, status = 'True', reason?: string) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const obj = await getObject(plural, name);
        const r = ready(obj);
        if (r?.status === status && (reason === undefined || r.reason === reason)) return obj!;
        if (Date.now() > deadline) throw new Error(`${plural}/${name}: ${JSON.stringify(obj?.status)}`);
        await sleep(50);
      }
    };
    const apply = async (yaml: string) => {
      const r = await cli(['apply', '-f', '-'], client(), yaml);
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    };

    beforeAll(async () => {
      const controller = await startService(['controller', '--control-port', '0', '--state-dir', stateDir]);
      services.push(controller);
      control = controller.urls.control!;
      const shared = ['--server', control, '--channel', 'nats', '--nats', engines.nats.url, '--channel-prefix', PREFIX];
      const [ing, fns] = await Promise.all([
        startService(['ingress', '--ingress-port', '0', ...shared]),
        startService(['functions', '--gateway-port', '0', '--health-port', '0', '--warm-pool', '0', ...shared], {
          ES_STATE_DIR: join(stateDir, 'functions'),
        }),
      ]);
      services.push(ing, fns);
      ingress = ing.urls.ingress!;
      gateway = fns.urls.gateway!;
      const others = await Promise.all([
        startService(['router', '--health-port', '0', '--ingress-url', ingress, '--gateway-url', gateway, ...shared]),
        startService(['sources', '--health-port', '0', '--storage-webhook-port', '0', '--server', control], {
          ES_INGRESS_URL: ingress,
        }),
      ]);
      services.push(...others);
    }, 90_000);

    afterAll(async () => {
      const codes = [];
      for (const s of [...services].reverse()) codes.push(await s.stop());
      rmSync(stateDir, { recursive: true, force: true });
      const nc = await connect({ servers: engines.nats.url });
      const jsm = await nc.jetstreamManager();
      const left: string[] = [];
      for await (const name of jsm.streams.names()) {
        if (!name.startsWith(`${PREFIX}_`)) continue;
        left.push(name);
        await jsm.streams.delete(name);
      }
      await nc.close();
      expect(left, 'streams left behind by deleted Brokers').toEqual([]);
      expect(codes, 'every service stops cleanly on SIGTERM').toEqual([0, 0, 0, 0, 0]);
    }, 60_000);

    it('delivers an event sent to the ingress process to a subscriber through the router process', async () => {
      const sub = await startSubscriber();
      const replies = await startSubscriber();
      // The first subscriber answers with a reply event, which the router stores back into the broker.
      sub.setResponder((_req, res) => {
        res
          .writeHead(200, {
            'ce-specversion': '1.0',
            'ce-id': 'reply-1',
            'ce-source': '/sub',
            'ce-type': 'split.reply',
            'content-type': 'application/json',
          })
          .end('{"answer":42}');
      });
      try {
        await apply(`apiVersion: eventing.elastic-serving.dev/v1
kind: Broker
metadata: { name: split }
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: split-requests }
spec:
  broker: split
  filter: { attributes: { type: split.request } }
  subscriber: { uri: "${sub.url}/in" }
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: split-replies }
spec:
  broker: split
  filter: { attributes: { type: split.reply } }
  subscriber: { uri: "${replies.url}/replies" }
`);
        // Each status is written by the one process that owns the kind: the controller runs no reconcilers.
        const broker = await waitReady('brokers', 'split');
        expect(ready(broker)?.reason).toBe('BrokerReady');
        expect(broker.status?.address?.url).toBe(`${ingress}/default/split`);
        const trigger = await waitReady('triggers', 'split-requests');
        expect(trigger.status).toMatchObject({ subscriberUri: `${sub.url}/in` });
        expect(ready(trigger)?.message).toContain('nats');
        await waitReady('triggers', 'split-replies');

        const sent = await cli(
          [
            'send',
            '--broker',
            'split',
            '--type',
            'split.request',
            '--source',
            '/e2e',
            '--id',
            'req-1',
            '--data',
            '{"q":1}',
          ],
          client(),
        );
        expect(sent.code, sent.stderr).toBe(0);
        expect(sent.stdout).toMatch(/^202 /);
        const [got] = await sub.waitFor(1, 15_000);
        expect(got!.headers['ce-id']).toBe('req-1');
        expect(got!.headers['ce-type']).toBe('split.request');
        expect(got!.headers['ce-knativebrokerttl']).toBeUndefined();
        expect(JSON.parse(got!.body.toString())).toEqual({ q: 1 });
        const [reply] = await replies.waitFor(1, 15_000);
        expect(reply!.headers['ce-id']).toBe('reply-1');
        expect(JSON.parse(reply!.body.toString())).toEqual({ answer: 42 });
      } finally {
        await sub.close();
        await replies.close();
      }
    }, 60_000);

    it('runs a PingSource from the sources process into the broker, and follows the Broker going away', async () => {
      const sub = await startSubscriber();
      try {
        await apply(`apiVersion: eventing.elastic-serving.dev/v1
kind: Broker
metadata: { name: split-ping }
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: split-ping-all }
spec:
  broker: split-ping
  subscriber: { uri: "${sub.url}" }
---
apiVersion: sources.elastic-serving.dev/v1
kind: PingSource
metadata: { name: split-tick }
spec:
  schedule: "* * * * * *"
  data: '{"tick":true}'
  sink: { ref: { kind: Broker, name: split-ping } }
`);
        const ping = await waitReady('pingsources', 'split-tick');
        expect(ping.status?.sinkUri).toBe(`${ingress}/default/split-ping`);
        const [tick] = await sub.waitFor(1, 15_000);
        expect(tick!.headers['ce-type']).toBe('dev.knative.sources.ping');
        expect(tick!.headers['ce-source']).toBe('/apis/v1/namespaces/default/pingsources/split-tick');

        // Deleting the Broker: the ingress removes its stream, the router and the sources stop using it.
        const deleted = await cli(['delete', 'broker', 'split-ping'], client());
        expect(deleted.code, deleted.stderr).toBe(0);
        await waitReady('triggers', 'split-ping-all', 'False', 'BrokerDoesNotExist');
        await waitReady('pingsources', 'split-tick', 'False', 'SinkNotFound');
        const res = await fetch(`${ingress}/default/split-ping`, {
          method: 'POST',
          headers: { 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-source': '/e2e', 'ce-type': 't' },
        });
        expect(res.status).toBe(404);
      } finally {
        for (const args of [
          ['delete', 'pingsource', 'split-tick'],
          ['delete', 'trigger', 'split-ping-all'],
        ]) {
          await cli(args, client());
        }
        await sub.close();
      }
    }, 60_000);

    it('delivers to a Function through the functions process gateway, and its reply comes back', async () => {
      const replies = await startSubscriber();
      try {
        await apply(`apiVersion: eventing.elastic-serving.dev/v1
kind: Broker
metadata: { name: split-fn }
---
apiVersion: serving.elastic-serving.dev/v1
kind: Function
metadata: { name: split-echo }
spec:
  handler: functions/examples/echo/index.ts
  replicas: 1
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: split-to-echo }
spec:
  broker: split-fn
  filter: { attributes: { type: dev.elasticserving.demo } }
  subscriber: { ref: { apiVersion: serving.elastic-serving.dev/v1, kind: Function, name: split-echo } }
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: split-echo-replies }
spec:
  broker: split-fn
  filters: [{ prefix: { type: dev.elasticserving.echo } }]
  subscriber: { uri: "${replies.url}" }
`);
        // Function status (replicas, scale) is written by the functions process, the only one running replicas.
        const fn = await waitReady('functions', 'split-echo', 'True', 'ReplicasReady');
        expect(fn.status).toMatchObject({ readyReplicas: 1, desiredReplicas: 1 });
        const trigger = await waitReady('triggers', 'split-to-echo');
        expect(trigger.status?.subscriberUri).toBe(`${gateway}/default/split-echo`);
        await waitReady('triggers', 'split-echo-replies');
        const sent = await cli(
          [
            'send',
            '--broker',
            'split-fn',
            '--type',
            'dev.elasticserving.demo',
            '--source',
            '/e2e',
            '--data',
            '{"hi":1}',
          ],
          client(),
        );
        expect(sent.code, sent.stderr).toBe(0);
        const [reply] = await replies.waitFor(1, 20_000);
        expect(String(reply!.headers['ce-type'])).toMatch(/^dev\.elasticserving\.echo/);
      } finally {
        await cli(['delete', 'trigger', 'split-to-echo', 'split-echo-replies'], client());
        await cli(['delete', 'function', 'split-echo'], client());
        await cli(['delete', 'broker', 'split-fn'], client());
        await replies.close();
      }
    }, 60_000);

    it('keeps working across a controller restart: the other services resume their watches', async () => {
      const sub = await startSubscriber();
      try {
        const port = new URL(control).port;
        expect(await services[0]!.stop()).toBe(0);
        services[0] = await startService(['controller', '--control-port', port, '--state-dir', stateDir]);
        expect(services[0].urls.control).toBe(control);
        await apply(`apiVersion: eventing.elastic-serving.dev/v1
kind: Broker
metadata: { name: split-again }
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: split-again-all }
spec:
  broker: split-again
  subscriber: { uri: "${sub.url}" }
`);
        await waitReady('brokers', 'split-again');
        await waitReady('triggers', 'split-again-all');
        const sent = await cli(
          ['send', '--broker', 'split-again', '--type', 't', '--source', '/e2e', '--id', 'again'],
          client(),
        );
        expect(sent.code, sent.stderr).toBe(0);
        const [got] = await sub.waitFor(1, 15_000);
        expect(got!.headers['ce-id']).toBe('again');
      } finally {
        await cli(['delete', 'trigger', 'split-again-all'], client());
        await cli(['delete', 'broker', 'split-again'], client());
        await sub.close();
      }
    }, 60_000);

    it('cleans up: deleting the Brokers and Triggers leaves no stream on the engine', async () => {
      for (const args of [
        ['delete', 'trigger', 'split-requests', 'split-replies'],
        ['delete', 'broker', 'split'],
      ]) {
        const r = await cli(args, client());
        expect(r.code, r.stderr).toBe(0);
      }
      const nc = await connect({ servers: engines.nats.url });
      try {
        const jsm = await nc.jetstreamManager();
        const deadline = Date.now() + 10_000;
        for (;;) {
          const names: string[] = [];
          for await (const name of jsm.streams.names()) if (name.startsWith(`${PREFIX}_`)) names.push(name);
          if (names.length === 0) break;
          if (Date.now() > deadline) throw new Error(`streams still there: ${names.join(', ')}`);
          await sleep(100);
        }
      } finally {
        await nc.close();
      }
    }, 30_000);

    it('refuses the memory channel for a service that shares it with other processes', async () => {
      const r = await cli(['router', '--server', control], { ES_CHANNEL: 'memory' });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/ES_CHANNEL memory: the router shares its channel/);
    });
  },
);
