import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChunkBytes, ChunkLog, scanLog } from './chunk-log.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batch-chunk-log-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Chunk `chunk` of `n` rows, `bad` of them failed. */
function chunkOf(chunk: number, n = 3, bad = 0): ChunkBytes {
  let scored = '';
  let failed = '';
  for (let i = 0; i < n; i++) {
    const id = `c${chunk}r${i}`;
    if (i < bad) failed += `${JSON.stringify({ id, row: 'x', error: 'bad' })}\n`;
    else scored += `${JSON.stringify({ id, label: i % 3 })}\n`;
  }
  return { chunk, scored: Buffer.from(scored), failed: Buffer.from(failed), succeeded: n - bad, failedRows: bad };
}

async function logWith(name: string, chunks: ChunkBytes[]): Promise<string> {
  const path = join(dir, name);
  const { log } = await ChunkLog.open(path, { syncIntervalMs: 0 });
  await Promise.all(chunks.map((c) => log.append(c)));
  await log.close();
  return path;
}

describe('ChunkLog', () => {
  it('appends records (several at once in one write) and reads each chunk back', async () => {
    const path = join(dir, 'a.log');
    const { log, scan } = await ChunkLog.open(path);
    expect(scan).toEqual({ records: new Map(), duplicates: 0, end: 0, size: 0 });
    const chunks = [chunkOf(2, 3, 1), chunkOf(0, 4), chunkOf(1, 2, 2)];
    const records = await Promise.all(chunks.map((c) => log.append(c)));
    expect(records.map((r) => [r.chunk, r.succeeded, r.failedRows])).toEqual([
      [2, 2, 1],
      [0, 4, 0],
      [1, 0, 2],
    ]);
    for (const [i, r] of records.entries()) expect(await log.read(r)).toEqual(chunks[i]);
    await log.close();
    await log.close();
    const again = await ChunkLog.open(path);
    expect([...again.scan.records.keys()]).toEqual([2, 0, 1]);
    expect(await again.log.read(again.scan.records.get(1)!)).toEqual(chunks[2]);
    await again.log.close();
    expect((await scanLog(path, { verify: false })).records.size).toBe(3);
  });

  it('cuts a torn tail off when opened, so the cut chunk is redone, and appends after what is whole', async () => {
    const path = await logWith('torn.log', [chunkOf(0), chunkOf(1), chunkOf(2)]);
    const whole = (await stat(path)).size;
    await truncate(path, whole - 10);
    // A look beside a running job does not change the file.
    expect([...(await scanLog(path, { verify: false })).records.keys()]).toEqual([0, 1]);
    expect((await stat(path)).size).toBe(whole - 10);
    const { log, scan } = await ChunkLog.open(path);
    expect([...scan.records.keys()]).toEqual([0, 1]);
    expect(scan.size - scan.end).toBeGreaterThan(0);
    expect((await stat(path)).size).toBe(scan.end);
    await log.append(chunkOf(2));
    await log.close();
    const reread = await scanLog(path);
    expect([...reread.records.keys()]).toEqual([0, 1, 2]);
    expect(reread.end).toBe(reread.size);
  });

  it('stops at a record whose bytes do not match their checksum, or that the job cannot have', async () => {
    const path = await logWith('damaged.log', [chunkOf(0), chunkOf(1), chunkOf(2)]);
    const bytes = await readFile(path);
    // A byte of chunk 1's rows changed (as an OS crash can leave a block that never reached the disk).
    const second = bytes.indexOf('c1r1');
    bytes[second + 3] = 0x39;
    await writeFile(path, bytes);
    expect([...(await scanLog(path)).records.keys()]).toEqual([0]);
    // Headers alone cannot see it.
    expect((await scanLog(path, { verify: false })).records.size).toBe(3);

    const counted = await logWith('counted.log', [chunkOf(0), chunkOf(1, 2), chunkOf(2)]);
    const scan = await scanLog(counted, { accept: (r) => r.succeeded + r.failedRows === 3 });
    expect([...scan.records.keys()]).toEqual([0]);
  });

  it('counts a chunk recorded twice once, by its first record', async () => {
    const first = chunkOf(0);
    const second = { ...chunkOf(0), scored: Buffer.from('{"id":"c0r0","label":9}\n{"id":"c0r1"}\n{"id":"c0r2"}\n') };
    const path = await logWith('twice.log', [first, chunkOf(1), second]);
    const { log, scan } = await ChunkLog.open(path);
    expect(scan.duplicates).toBe(1);
    expect(scan.end).toBe(scan.size);
    expect(await log.read(scan.records.get(0)!)).toEqual(first);
    await log.close();
  });

  it('fails every append after a write fails, leaving the log as it was', async () => {
    const path = await logWith('closed.log', [chunkOf(0)]);
    const size = (await stat(path)).size;
    const { log } = await ChunkLog.open(path);
    await log.close();
    await expect(log.append(chunkOf(1))).rejects.toThrow();
    await expect(log.append(chunkOf(2))).rejects.toThrow();
    expect((await stat(path)).size).toBe(size);
  });
});
