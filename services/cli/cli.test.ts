import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { PlatformOptions } from '../platform/options.ts';
import { type Fixture, type Refusal, type StoredObject, startFixture } from './k8s-rest-fixture.ts';
import { runCli } from './main.ts';
import { captureIo } from './test-io.ts';

const SERVED = [
  'eventing.elastic-serving.dev/v1/brokers',
  'eventing.elastic-serving.dev/v1/triggers',
  'eventing.knative.dev/v1/brokers',
  'eventing.knative.dev/v1/triggers',
  'sources.knative.dev/v1/pingsources',
  'sources.elastic-serving.dev/v1/pingsources',
  'serving.elastic-serving.dev/v1/functions',
];

const KNATIVE = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: kn-trigger
spec:
  broker: default
  subscriber: { uri: http://127.0.0.1:9999/ }
`;
const OURS = `apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: iris-infer }
spec:
  broker: default
  subscriber: { ref: { kind: Function, name: echo } }
---
apiVersion: serving.elastic-serving.dev/v1
kind: Function
metadata: { name: echo }
spec:
  handler: functions/examples/echo/index.ts
  env: [{ name: API_TOKEN, value: hunter2 }]
`;

let dir: string;
let fx: Fixture;
let onWrite: ((method: string, key: string, store: Map<string, StoredObject>) => Refusal | undefined) | undefined;

async function cli(args: string[], extra: { env?: Record<string, string>; stdin?: string } = {}) {
  const io = captureIo({
    env: { ES_SERVER: fx.url, ...extra.env },
    cwd: dir,
    ...(extra.stdin ? { stdin: extra.stdin } : {}),
  });
  const code = await runCli(args, io);
  return { code, out: io.stdoutText, err: io.stderrText };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'es-cli-http-'));
  await writeFile(join(dir, 'knative.yaml'), KNATIVE);
  await writeFile(join(dir, 'ours.yaml'), OURS);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

beforeEach(async () => {
  onWrite = undefined;
  fx = await startFixture({
    served: SERVED,
    beforeWrite: (m, k, s) => onWrite?.(m, k, s),
    validate: (o) => {
      const spec = o.spec as { broker?: unknown } | undefined;
      return o.kind === 'Trigger' && typeof spec?.broker !== 'string'
        ? [{ field: 'spec.broker', message: 'Required value' }]
        : [];
    },
  });
});
afterEach(() => fx.close());

describe('apply / get / describe / delete round trip', () => {
  it('creates, then reports unchanged, then configured, like kubectl', async () => {
    const first = await cli(['apply', '-f', 'knative.yaml', '-f', 'ours.yaml']);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toBe(
      [
        'broker.eventing.knative.dev/default created',
        'trigger.eventing.knative.dev/kn-trigger created',
        'trigger.eventing.elastic-serving.dev/iris-infer created',
        'function.serving.elastic-serving.dev/echo created',
        '',
      ].join('\n'),
    );
    expect(fx.store.get('eventing.knative.dev/v1/triggers/default/kn-trigger')?.spec).toMatchObject({
      broker: 'default',
    });

    const again = await cli(['apply', '-f', '.']);
    expect(
      again.out
        .trim()
        .split('\n')
        .every((l) => l.endsWith(' unchanged')),
    ).toBe(true);

    await writeFile(join(dir, 'changed.yaml'), OURS.replace('index.ts', 'other.ts'));
    const changed = await cli(['apply', '-f', 'changed.yaml']);
    await rm(join(dir, 'changed.yaml'));
    expect(changed.out).toBe(
      'trigger.eventing.elastic-serving.dev/iris-infer unchanged\nfunction.serving.elastic-serving.dev/echo configured\n',
    );
    expect(fx.store.get('serving.elastic-serving.dev/v1/functions/default/echo')?.spec).toMatchObject({
      handler: 'functions/examples/echo/other.ts',
    });
  });

  it('lists both API groups of a kind in one table, and shows named objects as json/yaml with secrets redacted', async () => {
    await cli(['apply', '-f', '.']);
    const table = await cli(['get', 'triggers']);
    expect(table.code).toBe(0);
    const rows = table.out.trim().split('\n');
    expect(rows[0]).toMatch(/^NAME +BROKER +SUBSCRIBER_URI +AGE +READY +REASON$/);
    expect(rows.slice(1).map((r) => r.split(/\s+/)[0])).toEqual(['iris-infer', 'kn-trigger']);

    const json = await cli(['get', 'fn', 'echo', '-o', 'json']);
    const obj = JSON.parse(json.out);
    expect(obj).toMatchObject({ kind: 'Function', metadata: { name: 'echo', namespace: 'default' } });
    expect(obj.spec.env[0].value).toBe('***REDACTED***');

    const yaml = parse((await cli(['get', 'trigger', '-o', 'yaml'])).out);
    expect(yaml.kind).toBe('List');
    expect(yaml.items.map((i: StoredObject) => i.apiVersion).sort()).toEqual([
      'eventing.elastic-serving.dev/v1',
      'eventing.knative.dev/v1',
    ]);

    const knOnly = await cli(['get', 'triggers.eventing.knative.dev', '-o', 'name']);
    expect(knOnly.out).toBe('trigger.eventing.knative.dev/kn-trigger\n');

    const describe = await cli(['describe', 'function', 'echo']);
    expect(describe.out).toContain('Name:         echo');
    expect(describe.out).toContain('Conditions:   <none>');
    expect(describe.out).not.toContain('hunter2');
  });

  it('reads -n, -A and -n given before or after the command', async () => {
    await cli(['apply', '-n', 'team', '-f', 'knative.yaml']);
    expect((await cli(['get', 'brokers'])).err).toBe('No resources found in default namespace.\n');
    expect((await cli(['-n', 'team', 'get', 'brokers', '-o', 'name'])).out).toBe(
      'broker.eventing.knative.dev/default\n',
    );
    const all = await cli(['get', 'brokers', '-A']);
    expect(all.out.split('\n')[1]).toMatch(/^team +default /);
    expect(fx.requests).toContain('GET /apis/eventing.knative.dev/v1/brokers');
  });

  it('deletes by kind and name from whichever group has it, and from manifests', async () => {
    await cli(['apply', '-f', '.']);
    const byName = await cli(['delete', 'trigger', 'kn-trigger']);
    expect(byName.out).toBe('trigger.eventing.knative.dev "kn-trigger" deleted\n');
    const missing = await cli(['delete', 'trigger', 'kn-trigger']);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('error: triggers "kn-trigger" not found in namespace "default"\n');
    expect((await cli(['delete', 'trigger', 'kn-trigger', '--ignore-not-found'])).code).toBe(0);
    const byFile = await cli(['delete', '-f', 'ours.yaml']);
    expect(byFile.out).toBe(
      'trigger.eventing.elastic-serving.dev "iris-infer" deleted\nfunction.serving.elastic-serving.dev "echo" deleted\n',
    );
    expect([...fx.store.keys()]).toEqual(['eventing.knative.dev/v1/brokers/default/default']);
    const notFound = await cli(['get', 'fn', 'echo']);
    expect(notFound).toMatchObject({ code: 1, err: 'error: functions "echo" not found in namespace "default"\n' });
  });
});

describe('conflicts and refusals', () => {
  it('re-reads and retries once when a write hits 409', async () => {
    await cli(['apply', '-f', 'ours.yaml']);
    await writeFile(join(dir, 'changed.yaml'), OURS.replace('index.ts', 'v2.ts'));
    let raced = 0;
    onWrite = (method, key, store) => {
      // A concurrent writer bumps the object between our GET and our PUT, once.
      if (method === 'PUT' && key.endsWith('/functions/default/echo') && raced++ === 0) {
        const cur = store.get(key)!;
        store.set(key, { ...cur, metadata: { ...cur.metadata, resourceVersion: `${cur.metadata.resourceVersion}x` } });
      }
      return undefined;
    };
    const res = await cli(['apply', '-f', 'changed.yaml']);
    await rm(join(dir, 'changed.yaml'));
    expect(res.code).toBe(0);
    expect(res.out).toContain('function.serving.elastic-serving.dev/echo configured');
    const puts = fx.requests.filter((r) => r.startsWith('PUT '));
    expect(puts.filter((r) => r.endsWith('?dryRun=All'))).toHaveLength(1);
    expect(puts.filter((r) => !r.endsWith('?dryRun=All'))).toHaveLength(2);

    onWrite = (method, key, store) => {
      if (method === 'PUT' && key.endsWith('/functions/default/echo')) {
        const cur = store.get(key)!;
        store.set(key, { ...cur, metadata: { ...cur.metadata, resourceVersion: `${cur.metadata.resourceVersion}y` } });
      }
      return undefined;
    };
    await writeFile(join(dir, 'changed.yaml'), OURS.replace('index.ts', 'v3.ts'));
    const twice = await cli(['apply', '-f', 'changed.yaml']);
    await rm(join(dir, 'changed.yaml'));
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(
      /^error: function\.serving\.elastic-serving\.dev\/echo \(changed\.yaml #2\): the object has been modified.*\(Conflict, 409\)/,
    );
  });

  it('collects every server validation error in a dry run and writes nothing', async () => {
    const noBroker = (name: string) =>
      `---\napiVersion: eventing.elastic-serving.dev/v1\nkind: Trigger\nmetadata: { name: ${name} }\nspec: {}\n`;
    await writeFile(join(dir, 'bad.yaml'), `${KNATIVE}${noBroker('nb1')}${noBroker('nb2')}`);
    const res = await cli(['apply', '-f', 'bad.yaml']);
    await rm(join(dir, 'bad.yaml'));
    expect(res.code).toBe(1);
    expect(res.err).toBe(
      [
        'error: nothing applied: the server refused 2 objects',
        '  trigger.eventing.elastic-serving.dev/nb1 (bad.yaml #3): Trigger "nb1" is invalid (Invalid, 422)',
        '    spec.broker: Required value',
        '  trigger.eventing.elastic-serving.dev/nb2 (bad.yaml #4): Trigger "nb2" is invalid (Invalid, 422)',
        '    spec.broker: Required value',
        '',
      ].join('\n'),
    );
    expect(fx.requests.filter((r) => /^(POST|PUT|DELETE) /.test(r) && !r.endsWith('?dryRun=All'))).toEqual([]);
    expect(fx.store.size).toBe(0);
  });

  it('--dry-run prints what would happen and stores nothing', async () => {
    const res = await cli(['apply', '-f', 'knative.yaml', '--dry-run']);
    expect(res.out).toBe(
      'broker.eventing.knative.dev/default created (server dry run)\ntrigger.eventing.knative.dev/kn-trigger created (server dry run)\n',
    );
    expect(fx.store.size).toBe(0);
  });

  it('rolls back what the run created when a real write is refused after the dry run passed', async () => {
    onWrite = (method, key) =>
      method === 'POST' && key.endsWith('/triggers/default/iris-infer')
        ? { code: 500, reason: 'InternalError', message: 'disk full' }
        : undefined;
    const res = await cli(['apply', '-f', 'knative.yaml', '-f', 'ours.yaml']);
    expect(res.code).toBe(1);
    expect(res.out).toContain('trigger.eventing.knative.dev/kn-trigger created');
    expect(res.err).toBe(
      [
        'trigger.eventing.knative.dev/kn-trigger rolled back (deleted)',
        'broker.eventing.knative.dev/default rolled back (deleted)',
        'error: trigger.eventing.elastic-serving.dev/iris-infer (ours.yaml #1): disk full (InternalError, 500); earlier objects of this apply were rolled back',
        '',
      ].join('\n'),
    );
    expect(fx.store.size).toBe(0);
  });

  it('restores the previous version of objects it had configured before a refusal', async () => {
    await cli(['apply', '-f', 'ours.yaml']);
    // The function (valid, changed) comes first, then a trigger whose real write fails.
    const [trigger, fn] = OURS.replace('index.ts', 'v9.ts').replace('broker: default', 'broker: other').split('---\n');
    await writeFile(join(dir, 'bad.yaml'), `${fn}---\n${trigger}`);
    onWrite = (method, key) =>
      method === 'PUT' && key.endsWith('/triggers/default/iris-infer')
        ? { code: 503, reason: 'ServiceUnavailable', message: 'store unavailable' }
        : undefined;
    const res = await cli(['apply', '-f', 'bad.yaml']);
    await rm(join(dir, 'bad.yaml'));
    expect(res.code).toBe(1);
    expect(res.err).toContain('function.serving.elastic-serving.dev/echo rolled back (previous version restored)');
    expect(fx.store.get('serving.elastic-serving.dev/v1/functions/default/echo')?.spec).toMatchObject({
      handler: 'functions/examples/echo/index.ts',
    });
  });

  it('refuses the whole apply before any write when a document is malformed', async () => {
    const res = await cli(['apply', '-f', '-'], {
      stdin: `${KNATIVE}---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\n`,
    });
    expect(res.code).toBe(1);
    expect(res.err).toBe('error: nothing applied: 1 problem in the manifests\n  <stdin> #3: metadata.name: required\n');
    expect(fx.requests).toEqual([]);
  });

  it('says which token to pass on 401', async () => {
    const secured = await startFixture({ served: SERVED, token: 'abc' });
    try {
      const io = captureIo({ env: { ES_SERVER: secured.url } });
      expect(await runCli(['get', 'brokers'], io)).toBe(1);
      expect(io.stderrText).toMatch(/unauthorized \(401\).*--token or set ES_TOKEN/);
      const ok = captureIo({ env: { ES_SERVER: secured.url, ES_TOKEN: 'abc' } });
      expect(await runCli(['get', 'brokers'], ok)).toBe(0);
    } finally {
      await secured.close();
    }
  });
});

describe('errors and usage', () => {
  it('explains an unreachable control API in one line, exit 1', async () => {
    const closed = Fastify();
    const url = await closed.listen({ host: '127.0.0.1', port: 0 });
    await closed.close();
    const io = captureIo({ env: { ES_SERVER: url } });
    expect(await runCli(['get', 'triggers'], io)).toBe(1);
    expect(io.stderrText).toBe(
      `error: cannot reach the control API at ${url} (ECONNREFUSED) — is \`elastic-serving up\` running?\n`,
    );
  });

  it('exits 2 on usage errors and 0 on help', async () => {
    expect((await cli(['get'])).code).toBe(2);
    expect((await cli(['get', 'pods'])).err).toMatch(/^error: unknown resource type "pods"/);
    expect((await cli(['get', 'pods'])).code).toBe(2);
    expect((await cli(['get', 'fn', '-o', 'xml'])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['send', '--source', '/x'])).code).toBe(2);
    expect((await cli(['apply'])).code).toBe(2);
    const help = await cli(['send', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Examples:');
    expect((await cli(['version'])).out).toMatch(/^elastic-serving \d+\.\d+\.\d+/);
  });
});

describe('send', () => {
  it('posts a binary-mode event to the broker path and prints the status; structured on request', async () => {
    const ingress = Fastify();
    const got: { url: string; headers: Record<string, unknown>; body: unknown }[] = [];
    ingress.removeAllContentTypeParsers();
    ingress.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    ingress.post('/:ns/:broker', async (req, reply) => {
      got.push({ url: req.url, headers: req.headers, body: String(req.body) });
      if (req.params && (req.params as { broker: string }).broker === 'nope') {
        return reply.code(404).send({ error: 'broker demo/nope does not exist', code: 'ES_ERR_BROKER_NOT_FOUND' });
      }
      return reply.code(202).send();
    });
    const url = await ingress.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await cli(
        ['send', '--type', 'dev.demo', '--source', '/me', '--id', 'e1', '--data', '{"x":1}', '--ext', 'partitionkey=k'],
        {
          env: { ES_INGRESS: url },
        },
      );
      expect(res).toMatchObject({ code: 0, out: `202 Accepted: event e1 sent to ${url}/default/default\n` });
      expect(got[0]).toMatchObject({
        url: '/default/default',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'e1',
          'ce-type': 'dev.demo',
          'ce-source': '/me',
          'ce-partitionkey': 'k',
          'content-type': 'application/json',
        },
        body: '{"x":1}',
      });

      await cli([
        'send',
        '--type',
        't',
        '--source',
        '/s',
        '--structured',
        '--broker',
        'demo/b',
        '--ingress',
        url,
        '--data',
        '{"y":2}',
      ]);
      expect(got[1]!.url).toBe('/demo/b');
      expect(got[1]!.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
      expect(JSON.parse(got[1]!.body as string)).toMatchObject({ type: 't', data: { y: 2 } });

      const fail = await cli(['send', '--type', 't', '--source', '/s', '--broker', 'demo/nope', '--ingress', url]);
      expect(fail.code).toBe(1);
      expect(fail.err).toContain(
        `error: ${url}/demo/nope answered 404 Not Found: {"error":"broker demo/nope does not exist","code":"ES_ERR_BROKER_NOT_FOUND"}`,
      );
    } finally {
      await ingress.close();
    }
  });
});

describe('up', () => {
  it('starts the platform with options from flags and env, prints where it listens, stops on a signal', async () => {
    let started: PlatformOptions | undefined;
    let stopped = false;
    let signal!: (s: string) => void;
    const io = captureIo({
      env: { ES_GATEWAY_PORT: '0', ES_TOKEN: 't' },
      cwd: dir,
      shutdown: new Promise((r) => (signal = r)),
    });
    const run = runCli(['up', '--no-demo', '--ingress-port', '0', '--log-level', 'warn'], io, {
      startPlatform: async (options) => {
        started = options;
        return {
          urls: {
            ingress: 'http://127.0.0.1:40001',
            gateway: 'http://127.0.0.1:40002',
            control: 'http://127.0.0.1:40003',
          },
          stop: async () => {
            stopped = true;
          },
        };
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(started).toMatchObject({
      ingressPort: 0,
      gatewayPort: 0,
      controlPort: 8090,
      demoDir: false,
      logLevel: 'warn',
      token: 't',
      stateDir: join(dir, '.elastic-serving'),
    });
    expect(io.stdoutText).toContain('broker ingress    http://127.0.0.1:40001/{namespace}/{broker}');
    expect(io.stdoutText).toContain('send --ingress http://127.0.0.1:40001');
    expect(stopped).toBe(false);
    signal('SIGTERM');
    expect(await run).toBe(0);
    expect(stopped).toBe(true);
  });

  it('explains a port in use, exit 1', async () => {
    const io = captureIo();
    const code = await runCli(['up'], io, {
      startPlatform: async () => {
        throw Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), {
          code: 'EADDRINUSE',
        });
      },
    });
    expect(code).toBe(1);
    expect(io.stderrText).toMatch(
      /^error: listen EADDRINUSE.*8080 — is another `elastic-serving up` running\? Pick free ports/,
    );
  });

  it('exits 2 without starting anything when an option is bad', async () => {
    const io = captureIo({ env: { ES_CONTROL_PORT: 'x' } });
    let called = false;
    expect(
      await runCli(['up'], io, {
        startPlatform: async () => {
          called = true;
          return { urls: { ingress: '', gateway: '', control: '' }, stop: async () => {} };
        },
      }),
    ).toBe(2);
    expect(io.stderrText).toBe('error: ES_CONTROL_PORT "x": expected an integer from 0 to 65535\n');
    expect(called).toBe(false);
  });
});
