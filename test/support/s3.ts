import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { engines } from './engines.ts';

/** Where an S3-compatible server is and the keys it takes. */
export interface S3Endpoint {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** @defaultValue 'us-east-1' */
  region?: string;
}

/** A client of `endpoint` (the shared test server by default) with path-style addressing, as DESIGN §8 uses. */
export function s3Client(endpoint: S3Endpoint = engines.s3): S3Client {
  return new S3Client({
    endpoint: endpoint.url,
    region: endpoint.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
    // Loopback server: a failure is a failure, not something to wait out.
    maxAttempts: 1,
  });
}

/** A bucket name no other test uses: `es-<prefix>-<random>`, valid under S3's naming rules. */
export function uniqueBucketName(prefix = 'test'): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 30);
  return `es-${clean}-${randomBytes(6).toString('hex')}`;
}

/** Deletes every object in `bucket`, then the bucket; a bucket that is already gone is fine. */
export async function deleteBucketAndObjects(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    let listed: ListObjectsV2CommandOutput;
    try {
      listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchBucket') return;
      throw err;
    }
    const keys = (listed.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** A fresh bucket on the server `client` talks to, and how to remove it with everything in it. */
export async function createTestBucket(
  client: S3Client,
  prefix = 'test',
): Promise<{ bucket: string; cleanup(): Promise<void> }> {
  const bucket = uniqueBucketName(prefix);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return { bucket, cleanup: () => deleteBucketAndObjects(client, bucket) };
}
