import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSubscriber } from '../../../test/support/subscriber.ts';
import { MemoryResourceStore } from '../../controller/memory-store.ts';
import type { Reconciler } from '../../controller/reconciler.ts';
import type { Resource } from '../../controller/resources/types.ts';
import { parseHttpEvent } from '../../core/http/codec.ts';
import { buildStorageWebhookApp, StorageSourceRunner } from '../../sources/storage/index.ts';
import { sinkBroker } from './pingsources.ts';
import { runStorageSourceReconciler } from './storagesources.ts';

const API = 'sources.elastic-serving.dev/v1';
type Subscriber = Awaited<ReturnType<typeof startSubscriber>>;

describe('StorageSource reconciler', () => {
  let root: string;
  let store: MemoryResourceStore;
  let runner: StorageSourceRunner;
  let reconciler: Reconciler;
  let sink: Subscriber;
  const brokers = new Set<string>();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'es-storage-rec-'));
    store = new MemoryResourceStore();
    sink = await startSubscriber();
    runner = new StorageSourceRunner({
      stateDir: join(root, 'state'),
      cwd: root,
      logger: pino({ level: 'silent' }),
      webhookBaseUrl: 'http://127.0.0.1:8085',
    });
    brokers.clear();
    reconciler = await runStorageSourceReconciler(
      store,
      {
        runner,
        addresses: { ingressUrl: sink.url, gatewayUrl: 'http://127.0.0.1:1' },
        brokerExists: (ns, name) => brokers.has(`${ns}/${name}`),
        env: { ES_TEST_TOKEN: 'from-env' },
      },
      { backoffInitialMs: 50, backoffMaxMs: 200 },
    );
  });

  afterEach(async () => {
    await reconciler.stop();
    await runner.stopAll();
    await sink.close();
    await rm(root, { recursive: true, force: true });
  });

  const apply = (name: string, spec: Record<string, unknown>) =>
    store.apply({ apiVersion: API, kind: 'StorageSource', metadata: { name, namespace: 'default' }, spec });

  async function ready(name: string, status = 'True', timeoutMs = 5000): Promise<Resource> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const obj = await store.get({ kind: 'StorageSource', namespace: 'default', name });
      const cond = obj?.status?.conditions?.find((c) => c.type === 'Ready');
      if (obj && cond?.status === status && obj.status?.observedGeneration === obj.metadata.generation) return obj;
      if (Date.now() > deadline) throw new Error(`${name} not Ready=${status}: ${JSON.stringify(obj?.status)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('watches a directory relative to the working directory, reports Watching and sinkUri, emits to the sink', async () => {
    await apply('bucket', { directory: { path: 'bucket', stabilityWindow: 'PT0.1S' }, sink: { uri: sink.url } });
    const obj = await ready('bucket');
    expect(obj.status).toMatchObject({
      sinkUri: sink.url,
      conditions: [expect.objectContaining({ type: 'Ready', reason: 'Watching' })],
    });
    await writeFile(join(root, 'bucket', 'rows.csv'), 'a,b\n');
    const [got] = await sink.waitFor(1);
    const event = parseHttpEvent(got!.headers, got!.body);
    expect(event.attributes).toMatchObject({
      type: 'dev.elasticserving.storage.object.created',
      subject: 'rows.csv',
      source: '/apis/v1/namespaces/default/storagesources/bucket',
    });
    expect(JSON.parse(event.data!.toString())).toMatchObject({ bucket: 'bucket', key: 'rows.csv', size: 4 });

    // Deleting the resource stops the watch and forgets its checkpoint.
    expect(existsSync(join(root, 'state', 'sources', 'storage', 'default', 'bucket.json'))).toBe(true);
    await store.delete({ kind: 'StorageSource', namespace: 'default', name: 'bucket' });
    await reconciler.idle();
    await new Promise((r) => setTimeout(r, 100));
    expect(runner.keys()).toEqual([]);
    expect(existsSync(join(root, 'state', 'sources', 'storage', 'default', 'bucket.json'))).toBe(false);
  });

  it('is not Ready while its sink Broker does not exist, and Ready once it does', async () => {
    await apply('to-broker', { directory: { path: 'b2' }, sink: { ref: { kind: 'Broker', name: 'default' } } });
    const waiting = await ready('to-broker', 'False');
    expect(waiting.status?.conditions?.[0]).toMatchObject({ reason: 'SinkNotFound' });
    expect(runner.keys()).toEqual([]);
    brokers.add('default/default');
    reconciler.enqueueWhere((s) => sinkBroker(s)?.name === 'default');
    const obj = await ready('to-broker');
    expect(obj.status?.sinkUri).toBe(`${sink.url}/default/default`);
  });

  it('webhook mode: reports webhookUrl; tokens from env or a Secret, a Secret change applying at once', async () => {
    const app = buildStorageWebhookApp({ ...runner.webhookOptions(), logLevel: 'silent' });
    try {
      await apply('hook-env', { webhook: { token: { env: 'ES_TEST_TOKEN' } }, sink: { uri: sink.url } });
      expect((await ready('hook-env')).status).toMatchObject({
        webhookUrl: 'http://127.0.0.1:8085/default/hook-env',
        conditions: [expect.objectContaining({ reason: 'Listening' })],
      });
      await apply('hook-missing', { webhook: { token: { env: 'ES_TEST_NOT_SET' } }, sink: { uri: sink.url } });
      const missing = await ready('hook-missing', 'False');
      expect(missing.status?.conditions?.[0]).toMatchObject({
        reason: 'CredentialsMissing',
        message: 'spec.webhook.token: environment variable ES_TEST_NOT_SET is not set',
      });

      const tokenRef = { secretKeyRef: { name: 'hook-secret', key: 'token' } };
      await apply('hook-secret', { webhook: { token: tokenRef }, sink: { uri: sink.url } });
      expect((await ready('hook-secret', 'False')).status?.conditions?.[0]).toMatchObject({ reason: 'SecretNotFound' });
      const secret = (token: string) =>
        store.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hook-secret' }, stringData: { token } });
      await secret('first-token');
      await ready('hook-secret');
      const post = (token: string) =>
        app.inject({
          method: 'POST',
          url: '/default/hook-secret',
          headers: { authorization: `Bearer ${token}` },
          payload: { Records: [] },
        });
      expect((await post('first-token')).statusCode).toBe(200);
      await secret('second-token');
      const deadline = Date.now() + 5000;
      while ((await post('second-token')).statusCode !== 200) {
        if (Date.now() > deadline) throw new Error('the new Secret value was never applied');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await post('first-token')).statusCode).toBe(403);
    } finally {
      await app.close();
    }
  });

  it('refuses invalid specs at apply time, naming the field', async () => {
    await expect(apply('none', { sink: { uri: sink.url } })).rejects.toThrow(/one of directory, s3 or webhook/);
    await expect(apply('two', { directory: { path: 'x' }, webhook: {}, sink: { uri: sink.url } })).rejects.toThrow(
      /set only one of directory, webhook/,
    );
    await expect(
      apply('dls', {
        webhook: {},
        sink: { uri: sink.url },
        delivery: { deadLetterSink: { uri: 'http://127.0.0.1:1/dlq' } },
      }),
    ).rejects.toThrow(/spec\.delivery\.deadLetterSink: not supported/);
    await expect(apply('bad', { s3: { bucket: 'Not_A_Bucket' }, sink: { uri: sink.url } })).rejects.toThrow(
      /spec\.s3\.bucket: must be an S3 bucket name/,
    );
    await expect(
      apply('poll', { s3: { bucket: 'fine', pollInterval: '5s' }, sink: { uri: sink.url } }),
    ).rejects.toThrow(/spec\.s3\.pollInterval/);
    await expect(apply('path', { webhook: { path: 'no-slash' }, sink: { uri: sink.url } })).rejects.toThrow(
      /spec\.webhook\.path/,
    );
  });
});
