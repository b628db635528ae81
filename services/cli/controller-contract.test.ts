import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildControlApi } from '../controller/api.ts';
import { MemoryResourceStore } from '../controller/memory-store.ts';
import { runCli } from './main.ts';
import { captureIo } from './test-io.ts';

// The CLI against the real control API (in-memory store): catches drift between the two sides of the REST shape.
const DEMO = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: serving.elastic-serving.dev/v1
kind: Function
metadata: { name: echo }
spec: { handler: functions/examples/echo/index.ts }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: kn }
spec:
  broker: default
  subscriber: { ref: { apiVersion: serving.elastic-serving.dev/v1, kind: Function, name: echo } }
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: ours }
spec:
  broker: default
  filters: [{ prefix: { type: dev.elasticserving } }]
  subscriber: { ref: { kind: Function, name: echo } }
`;

describe('CLI against the control API', () => {
  let app: FastifyInstance;
  let url: string;
  let dir: string;
  const cli = async (...args: string[]) => {
    const io = captureIo({ env: { ES_SERVER: url, ES_TOKEN: 'tok' }, cwd: dir });
    const code = await runCli(args, io);
    return { code, out: io.stdoutText, err: io.stderrText };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'es-cli-contract-'));
    await writeFile(join(dir, 'demo.yaml'), DEMO);
    app = buildControlApi({ store: new MemoryResourceStore(), token: 'tok' });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies Knative-shaped and our YAML, re-applies as unchanged, lists each object once', async () => {
    const first = await cli('apply', '-f', 'demo.yaml');
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out.trim().split('\n')).toEqual([
      'broker.eventing.knative.dev/default created',
      'function.serving.elastic-serving.dev/echo created',
      'trigger.eventing.knative.dev/kn created',
      'trigger.eventing.elastic-serving.dev/ours created',
    ]);
    const again = await cli('apply', '-f', 'demo.yaml');
    expect(
      again.out
        .trim()
        .split('\n')
        .every((l) => l.endsWith(' unchanged')),
    ).toBe(true);
    const names = (await cli('get', 'triggers', '-o', 'name')).out;
    expect(names).toBe('trigger.eventing.knative.dev/kn\ntrigger.eventing.elastic-serving.dev/ours\n');
    const one = JSON.parse((await cli('get', 'trigger', 'kn', '-o', 'json')).out);
    expect(one).toMatchObject({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'kn' } });
  });

  it('refuses an invalid object with its field path and writes nothing', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: second }\n---\n' +
        'apiVersion: eventing.elastic-serving.dev/v1\nkind: Trigger\nmetadata: { name: bad }\nspec: { broker: default, subscriber: { uri: "nope" } }\n',
    );
    const res = await cli('apply', '-f', 'bad.yaml');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^error: nothing applied: the server refused 1 object\n/);
    expect(res.err).toContain('spec.subscriber.uri');
    expect((await cli('get', 'broker', 'second')).code).toBe(1);
  });

  it('deletes from manifests', async () => {
    const res = await cli('delete', '-f', 'demo.yaml');
    expect(res.code).toBe(0);
    expect(res.out).toContain('trigger.eventing.knative.dev "kn" deleted');
    expect((await cli('get', 'all')).err).toBe('No resources found in default namespace.\n');
  });
});
