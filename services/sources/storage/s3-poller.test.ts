import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithEngine, engines } from '../../../test/support/engines.ts';
import { createTestBucket, s3Client } from '../../../test/support/s3.ts';
import { startSubscriber } from '../../../test/support/subscriber.ts';
import { parseHttpEvent } from '../../core/http/codec.ts';
import { ObjectLedger } from './ledger.ts';
import { StorageSourceRunner } from './runner.ts';
import { createS3Client, s3Location } from './s3-client.ts';
import { S3Poller } from './s3-poller.ts';
import type { ObjectChange } from './types.ts';

const logger = pino({ level: 'silent' });
const credentials = { accessKeyId: engines.s3.accessKeyId, secretAccessKey: engines.s3.secretAccessKey };

await describeWithEngine('s3', 'S3Poller against a real S3-compatible server', () => {
  let client: S3Client;
  let bucket: string;
  let stateDir: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    client = s3Client();
    const made = await createTestBucket(client, 'poller');
    bucket = made.bucket;
    stateDir = await mkdtemp(join(tmpdir(), 'es-s3poll-'));
    cleanups.push(made.cleanup, () => rm(stateDir, { recursive: true, force: true }));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    client.destroy();
  });

  const put = (key: string, body: string, contentType?: string) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  const del = (key: string) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

  /** A poller over the test bucket with its checkpoint in `stateDir`; `accept` is what the "sink" answers. */
  async function poller(opts: { prefix?: string; announceExisting?: boolean; accept?: () => boolean } = {}) {
    const location = s3Location({ endpoint: engines.s3.url, bucket, prefix: opts.prefix });
    const scope = `s3:${location.endpoint}/${bucket}/${location.prefix}`;
    const ledger = await ObjectLedger.open(join(stateDir, 'src.json'), scope);
    const s3 = createS3Client(location, credentials);
    const emitted: ObjectChange[] = [];
    const p = new S3Poller({
      client: s3,
      location,
      intervalMs: 60_000,
      ledger,
      announceExisting: opts.announceExisting ?? true,
      emit: async (change) => {
        if (opts.accept && !opts.accept()) return false;
        emitted.push(change);
        return true;
      },
      logger,
    });
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await p.stop();
      s3.destroy();
      await ledger.compact(true);
      await ledger.close();
    };
    cleanups.push(close);
    return { p, emitted, close };
  }

  it('announces existing objects, then new, changed and removed ones, with etag, size and content type', async () => {
    const first = await put('models/iris v2/model+1.onnx', 'onnx-bytes', 'application/octet-stream');
    const { p, emitted } = await poller();
    expect(await p.poll()).toEqual({ created: 1, deleted: 0, undelivered: 0 });
    expect(emitted).toEqual([
      {
        kind: 'created',
        bucket,
        key: 'models/iris v2/model+1.onnx',
        size: 10,
        etag: first.ETag!.replaceAll('"', ''),
        contentType: 'application/octet-stream',
        time: expect.any(String),
        originId: expect.any(String),
      },
    ]);
    expect(await p.poll()).toEqual({ created: 0, deleted: 0, undelivered: 0 });

    await put('rows.jsonl', '{"id":1}\n', 'application/x-ndjson');
    await put('models/iris v2/model+1.onnx', 'new onnx bytes');
    await del('models/iris v2/model+1.onnx');
    await put('models/iris v2/model+1.onnx', 'newer onnx bytes', 'application/onnx');
    expect(await p.poll()).toEqual({ created: 2, deleted: 0, undelivered: 0 });
    expect(emitted.slice(1).map((e) => [e.kind, e.key, e.size, e.contentType])).toEqual([
      ['created', 'models/iris v2/model+1.onnx', 16, 'application/onnx'], // from HEAD, not the name
      ['created', 'rows.jsonl', 9, 'application/x-ndjson'],
    ]);
    await del('rows.jsonl');
    expect(await p.poll()).toEqual({ created: 0, deleted: 1, undelivered: 0 });
    expect(emitted[3]).toMatchObject({ kind: 'deleted', key: 'rows.jsonl', size: 9 });
  });

  it('restarts from its checkpoint: changes made while stopped are announced once, nothing else', async () => {
    await put('a.txt', 'a');
    await put('b.txt', 'b');
    const one = await poller();
    await one.p.poll();
    expect(one.emitted).toHaveLength(2);
    await one.close();

    await put('b.txt', 'b2');
    await del('a.txt');
    await put('c.txt', 'c');
    const two = await poller();
    await two.p.poll();
    expect(two.emitted.map((e) => `${e.kind} ${e.key}`)).toEqual(['deleted a.txt', 'created b.txt', 'created c.txt']);
    await two.close();

    const three = await poller();
    await three.p.poll();
    expect(three.emitted).toEqual([]);
  });

  it('stops at the first change the sink refuses and announces it again, in order, on the next poll', async () => {
    await put('1.txt', '1');
    await put('2.txt', '2');
    let answers = [true, false];
    const { p, emitted } = await poller({ accept: () => answers.shift() ?? true });
    expect(await p.poll()).toEqual({ created: 1, deleted: 0, undelivered: 1 });
    expect(emitted.map((e) => e.key)).toEqual(['1.txt']);
    answers = [];
    expect(await p.poll()).toEqual({ created: 1, deleted: 0, undelivered: 0 });
    expect(emitted.map((e) => e.key)).toEqual(['1.txt', '2.txt']);
  });

  it('watches only its prefix, and with existingObjects ignore records what is there without announcing it', async () => {
    await put('batches/old.jsonl', 'old');
    await put('models/m.onnx', 'm');
    const { p, emitted } = await poller({ prefix: 'batches/', announceExisting: false });
    await p.poll();
    expect(emitted).toEqual([]);
    await put('batches/new.jsonl', 'new');
    await put('models/other.onnx', 'o');
    await p.poll();
    expect(emitted.map((e) => e.key)).toEqual(['batches/new.jsonl']);
  });

  it('runs in the runner: events reach a real sink, and a missing bucket or bad keys are not Ready', async () => {
    const sink = await startSubscriber();
    const runner = new StorageSourceRunner({ stateDir, logger });
    cleanups.push(
      () => sink.close(),
      () => runner.stopAll(),
    );
    await put('in/x.csv', 'a,b\n');
    const source = (spec: Record<string, unknown>) => ({
      metadata: { name: 'bucket-watch', namespace: 'default' },
      spec: { s3: { endpoint: engines.s3.url, bucket, pollInterval: 'PT0.2S', ...spec }, sink: { uri: sink.url } },
    });
    expect(await runner.upsert(source({}), { s3: credentials })).toBe('created');
    expect(runner.health('default/bucket-watch')).toMatchObject({ ready: true, reason: 'Polling' });
    await put('in/y.csv', 'c,d\n');
    const received = await sink.waitFor(2);
    const events = received.map((r) => parseHttpEvent(r.headers, r.body));
    expect(events.map((e) => [e.attributes.type, e.attributes.subject])).toEqual([
      ['dev.elasticserving.storage.object.created', 'in/x.csv'],
      ['dev.elasticserving.storage.object.created', 'in/y.csv'],
    ]);
    expect(JSON.parse(events[0]!.data!.toString())).toMatchObject({ bucket, key: 'in/x.csv', size: 4 });

    // A bucket that goes away while polled: not Ready (ListFailed), and the runner says so to its listeners.
    const changed: string[] = [];
    runner.onHealthChange((key) => changed.push(key));
    await client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'in/x.csv' }, { Key: 'in/y.csv' }] } }),
    );
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    const deadline = Date.now() + 5000;
    while (runner.health('default/bucket-watch')?.ready !== false) {
      if (Date.now() > deadline) throw new Error('the poller never reported the missing bucket');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(runner.health('default/bucket-watch')).toMatchObject({
      reason: 'ListFailed',
      message: expect.stringContaining('NoSuchBucket'),
    });
    expect(changed).toContain('default/bucket-watch');
    await client.send(new CreateBucketCommand({ Bucket: bucket }));

    await expect(runner.upsert(source({ bucket: `${bucket}-missing` }), { s3: credentials })).rejects.toMatchObject({
      reason: 'BucketUnreachable',
      message: expect.stringContaining('NoSuchBucket'),
    });
    const wrong = { ...credentials, secretAccessKey: 'not-the-secret-key' };
    const refused = runner.upsert(source({}), { s3: wrong });
    await expect(refused).rejects.toMatchObject({ reason: 'BucketUnreachable' });
    await refused.catch((err: Error) => expect(err.message).not.toContain('not-the-secret-key'));
  });
});
