import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { describeWithEngine, engines } from '../../../test/support/engines.ts';
import { createTestBucket, s3Client } from '../../../test/support/s3.ts';
import { startSubscriber } from '../../../test/support/subscriber.ts';
import { parseHttpEvent } from '../../core/http/codec.ts';

const CHILD = join(import.meta.dirname, 'kill-child.fixture.ts');
const OBJECTS = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startChild(config: Record<string, unknown>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, ES_TEST_STORAGE_CHILD: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(async () => {
    child.kill('SIGKILL');
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start:\n${out}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`child exited ${code}:\n${out}`)));
  });
}

/**
 * Kills the source's process with SIGKILL while it announces `OBJECTS` objects to a slow sink, starts it again,
 * and counts what the sink got per key: every key at least once (nothing missed), at most the one event in
 * flight at the kill repeated, and that repeat under the same CloudEvent id.
 */
async function killMidway(spec: Record<string, unknown>, credentials: Record<string, unknown> = {}) {
  const sink = await startSubscriber((_req, res) => {
    setTimeout(() => res.writeHead(202).end(), 15);
  });
  cleanups.push(() => sink.close());
  const stateDir = await mkdtemp(join(tmpdir(), 'es-storage-kill-'));
  cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
  const config = {
    stateDir,
    cwd: stateDir,
    resource: { metadata: { name: 'k', namespace: 'default' }, spec: { ...spec, sink: { uri: sink.url } } },
    credentials,
  };
  const first = await startChild(config);
  await sink.waitFor(OBJECTS / 3, 20_000);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const beforeRestart = sink.received.length;
  await startChild(config);
  const deadline = Date.now() + 30_000;
  const perKey = new Map<string, number>();
  const ids = new Set<string>();
  for (;;) {
    perKey.clear();
    for (const r of sink.received) {
      const { subject, id } = parseHttpEvent(r.headers, r.body).attributes;
      perKey.set(subject!, (perKey.get(subject!) ?? 0) + 1);
      ids.add(id);
    }
    if (perKey.size >= OBJECTS || Date.now() > deadline) break;
    await sleep(50);
  }
  await sleep(500); // anything more would be a repeat
  const duplicates = sink.received.length - perKey.size;
  if (process.env.ES_TEST_VERBOSE) console.log({ keys: perKey.size, duplicates, beforeRestart });
  // A repeat is the same version of the same object: same CloudEvent id, so a deduping backend drops it.
  return { keys: perKey.size, ids: ids.size, duplicates, beforeRestart };
}

describe('StorageSource killed with SIGKILL mid-announcement (directory)', () => {
  it('announces every file after the restart, repeating at most the one in flight', async () => {
    const root = await mkdtemp(join(tmpdir(), 'es-storage-killdir-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    await mkdir(join(root, 'bucket'));
    for (let i = 0; i < OBJECTS; i++)
      await writeFile(join(root, 'bucket', `f${String(i).padStart(3, '0')}.txt`), `${i}`);
    const got = await killMidway({ directory: { path: join(root, 'bucket'), stabilityWindow: 'PT0.05S' } });
    expect(got.beforeRestart).toBeLessThan(OBJECTS);
    expect(got.keys).toBe(OBJECTS);
    expect(got.duplicates).toBeLessThanOrEqual(1);
    expect(got.ids).toBe(OBJECTS);
  }, 90_000);
});

await describeWithEngine('s3', 'StorageSource killed with SIGKILL mid-announcement (S3 poller)', () => {
  it('announces every object after the restart, repeating at most the one in flight', async () => {
    const client = s3Client();
    const { bucket, cleanup } = await createTestBucket(client, 'kill');
    cleanups.push(cleanup);
    for (let i = 0; i < OBJECTS; i++) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `o${String(i).padStart(3, '0')}`, Body: `${i}` }));
    }
    const got = await killMidway(
      { s3: { endpoint: engines.s3.url, bucket, pollInterval: 'PT0.2S' } },
      { s3: { accessKeyId: engines.s3.accessKeyId, secretAccessKey: engines.s3.secretAccessKey } },
    );
    expect(got.beforeRestart).toBeLessThan(OBJECTS);
    expect(got.keys).toBe(OBJECTS);
    expect(got.duplicates).toBeLessThanOrEqual(1);
    expect(got.ids).toBe(OBJECTS);
  }, 90_000);
});
