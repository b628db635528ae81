import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithEngine, engines } from './engines.ts';
import { createTestBucket, deleteBucketAndObjects, s3Client } from './s3.ts';
import { type PrivateS3, startPrivateS3 } from './s3-private.ts';

await describeWithEngine('s3', 'S3-compatible test server (deploy/local/services.sh up s3)', () => {
  it('creates a bucket, puts, lists, gets, heads and deletes objects with @aws-sdk/client-s3', async () => {
    const client = s3Client();
    const { bucket, cleanup } = await createTestBucket(client, 'crud');
    try {
      // A key with a space, a plus and a slash: what URL-encoding bugs trip on.
      const key = 'models/iris v2/model+1.onnx';
      const put = await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'onnx-bytes', ContentType: 'application/onnx' }),
      );
      expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'models/' }));
      expect(listed.Contents?.map((o) => [o.Key, o.Size, o.ETag])).toEqual([[key, 10, put.ETag]]);
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(await got.Body?.transformToString()).toBe('onnx-bytes');
      expect(got.ContentType).toBe('application/onnx');
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.ContentLength).toBe(10);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      expect((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('refuses a wrong secret key', async () => {
    const wrong = s3Client({ ...engines.s3, secretAccessKey: `${engines.s3.secretAccessKey}-wrong` });
    await expect(wrong.send(new ListObjectsV2Command({ Bucket: 'es-any' }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
  });
});

interface Received {
  method: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** S3 event notification record, the fields a storage source reads. */
interface S3Record {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; size: number; eTag: string | null } };
}

await describeWithEngine('s3', 'S3-compatible test server: bucket notifications to a webhook', () => {
  let receiver: Server;
  let server: PrivateS3;
  const received: Received[] = [];
  const waiters: (() => void)[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        received.push({
          method: req.method ?? '',
          headers: req.headers,
          body: text === '' ? undefined : JSON.parse(text),
        });
        for (const wake of waiters.splice(0)) wake();
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    server = await startPrivateS3({ webhookUrl: `http://127.0.0.1:${port}/s3-events` });
  }, 120_000);

  afterAll(async () => {
    await server?.destroy();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function recordFor(eventName: string, key: string, timeoutMs = 10_000): Promise<S3Record> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const r of received) {
        const records = (r.body as { Records?: S3Record[] } | undefined)?.Records ?? [];
        const hit = records.find((rec) => rec.eventName === eventName && rec.s3.object.key === key);
        if (hit !== undefined) return hit;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${eventName} notification for ${key} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  it('sent its test event at start, as JSON POSTed to the configured path', () => {
    const first = received[0];
    expect(first?.method).toBe('POST');
    expect(first?.headers['content-type']).toMatch(/^application\/json/);
    expect(first?.body).toMatchObject({ Event: 's3:TestEvent', Service: 'S3' });
  });

  it('POSTs an ObjectCreated:Put record for a real put and ObjectRemoved:Delete for a delete', async () => {
    const client = s3Client(server);
    const { bucket } = await createTestBucket(client, 'notify');
    try {
      const key = 'models/iris v2/model+1.onnx';
      const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'twelve bytes' }));
      const created = await recordFor('s3:ObjectCreated:Put', key);
      expect(created.s3.bucket.name).toBe(bucket);
      // Versity sends the key as stored, not URL-encoded (MinIO and AWS encode it): see docs/storage.md.
      expect(created.s3.object).toMatchObject({ key, size: 12, eTag: put.ETag });

      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      const removed = await recordFor('s3:ObjectRemoved:Delete', key);
      expect(removed.s3.bucket.name).toBe(bucket);

      // A multi-object delete (what deleteBucketAndObjects sends) names its event differently.
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'batches/rows.jsonl', Body: '{}' }));
      await deleteBucketAndObjects(client, bucket);
      expect((await recordFor('s3:ObjectRemoved:DeleteObjects', 'batches/rows.jsonl')).s3.bucket.name).toBe(bucket);
    } finally {
      await deleteBucketAndObjects(client, bucket);
    }
  });
});
