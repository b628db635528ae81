import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryWatch } from './directory.ts';
import { ObjectLedger } from './ledger.ts';
import type { ObjectChange } from './types.ts';

const STABILITY_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

interface Emitted extends ObjectChange {
  at: number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDirs() {
  const root = await mkdtemp(join(tmpdir(), 'es-dirwatch-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  return { dir: join(root, 'bucket'), ledgerPath: join(root, 'state', 'src.json') };
}

/** Starts a watch that records every change it emits; `accept` decides what the "sink" answers. */
async function startWatch(
  dir: string,
  ledgerPath: string,
  opts: {
    announceExisting?: boolean;
    accept?: (c: ObjectChange) => boolean;
    retryMs?: number;
    stabilityMs?: number;
  } = {},
) {
  const emitted: Emitted[] = [];
  const attempts: ObjectChange[] = [];
  const ledger = await ObjectLedger.open(ledgerPath, `dir:${dir}`);
  const watch = await DirectoryWatch.start({
    dir,
    bucket: 'bucket',
    stabilityMs: opts.stabilityMs ?? STABILITY_MS,
    ledger,
    announceExisting: opts.announceExisting ?? true,
    emit: async (change) => {
      attempts.push(change);
      if (opts.accept && !opts.accept(change)) return false;
      emitted.push({ ...change, at: Date.now() });
      return true;
    },
    logger: pino({ level: 'silent' }),
    retryMs: opts.retryMs ?? 200,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await watch.stop();
    await ledger.compact(true);
    await ledger.close();
  };
  cleanups.push(stop);
  return { watch, emitted, attempts, stop };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
}

describe('DirectoryWatch', () => {
  it('announces a new file once, complete, with its MD5 etag, key relative to the directory and content type', async () => {
    const { dir, ledgerPath } = await tempDirs();
    const { emitted } = await startWatch(dir, ledgerPath);
    await mkdir(join(dir, 'models', 'iris'), { recursive: true });
    await writeFile(join(dir, 'models', 'iris', 'rows.json'), '{"a":1}');
    await until(() => emitted.length === 1);
    await sleep(STABILITY_MS * 2);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({
      kind: 'created',
      bucket: 'bucket',
      key: 'models/iris/rows.json',
      size: 7,
      etag: md5('{"a":1}'),
      contentType: 'application/json',
    });
  });

  it('waits out a slow partial write: half, a pause shorter than the window, the rest: one event, after the end', async () => {
    const { dir, ledgerPath } = await tempDirs();
    // A wide window against a short pause, so a busy machine cannot stretch the pause past the window.
    const window = 1000;
    const { emitted } = await startWatch(dir, ledgerPath, { stabilityMs: window });
    const content = Buffer.alloc(64 * 1024, 7);
    const file = await open(join(dir, 'model.onnx'), 'w');
    await file.write(content.subarray(0, content.length / 2));
    await file.sync();
    await sleep(window / 4);
    expect(emitted).toEqual([]);
    await file.write(content.subarray(content.length / 2));
    await file.close();
    const finished = Date.now();
    await until(() => emitted.length > 0);
    await sleep(window);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ key: 'model.onnx', size: content.length, etag: md5(content) });
    expect(emitted[0]!.at - finished).toBeGreaterThanOrEqual(window - 20);
  });

  it('announces a file renamed into place once under its final name, never its temporary name', async () => {
    const { dir, ledgerPath } = await tempDirs();
    const { emitted } = await startWatch(dir, ledgerPath);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, 'model.onnx.tmp');
    await writeFile(tmp, 'part one ');
    await sleep(STABILITY_MS * 2); // longer than the window: a temporary name is never announced, however long
    await writeFile(tmp, 'part one, part two', { flag: 'w' });
    await writeFile(join(dir, '.hidden'), 'x');
    await writeFile(join(dir, 'upload.part'), 'x');
    await writeFile(join(dir, 'notes.txt~'), 'x');
    await rename(tmp, join(dir, 'model.onnx'));
    await until(() => emitted.length > 0);
    await sleep(STABILITY_MS * 2);
    expect(emitted.map((e) => [e.kind, e.key, e.etag])).toEqual([['created', 'model.onnx', md5('part one, part two')]]);
  });

  it('announces deleted for an announced file, created again for changed bytes, nothing for identical bytes', async () => {
    const { dir, ledgerPath } = await tempDirs();
    const { emitted, watch } = await startWatch(dir, ledgerPath);
    const path = join(dir, 'data.csv');
    await writeFile(path, 'a,b\n');
    await until(() => emitted.length === 1);
    await writeFile(path, 'a,b\n'); // same content: new mtime, same etag
    await sleep(STABILITY_MS * 3);
    await watch.settled();
    expect(emitted).toHaveLength(1);
    await writeFile(path, 'a,b\n1,2\n');
    await until(() => emitted.length === 2);
    expect(emitted[1]).toMatchObject({ kind: 'created', key: 'data.csv', etag: md5('a,b\n1,2\n') });
    await unlink(path);
    await until(() => emitted.length === 3);
    expect(emitted[2]).toMatchObject({ kind: 'deleted', key: 'data.csv', etag: md5('a,b\n1,2\n'), size: 8 });
  });

  it('sees every file of a directory created and filled at once, and of one removed at once (5 rounds)', async () => {
    // inotify can miss files written into a directory before its watch is set up; the watch walks new
    // directories itself and removes every announced key below a removed one.
    const { dir, ledgerPath } = await tempDirs();
    const { emitted } = await startWatch(dir, ledgerPath, { stabilityMs: 100 });
    for (let round = 0; round < 5; round++) {
      emitted.length = 0;
      await mkdir(join(dir, 'models', 'a'), { recursive: true });
      await writeFile(join(dir, 'models', 'a', 'model.onnx'), `a${round}`);
      await writeFile(join(dir, 'models', 'b.onnx'), `b${round}`);
      await until(() => emitted.length === 2);
      await rm(join(dir, 'models'), { recursive: true });
      await until(() => emitted.length === 4).catch((err) => {
        throw new Error(`${err.message}: ${JSON.stringify(emitted.map((e) => `${e.kind} ${e.key}`))}`);
      });
      expect(emitted.map((e) => `${e.kind} ${e.key}`).sort()).toEqual([
        'created models/a/model.onnx',
        'created models/b.onnx',
        'deleted models/a/model.onnx',
        'deleted models/b.onnx',
      ]);
    }
  });

  it('restarts without repeats: unchanged files stay quiet, changes made while stopped are announced once', async () => {
    const { dir, ledgerPath } = await tempDirs();
    const first = await startWatch(dir, ledgerPath);
    await writeFile(join(dir, 'keep.txt'), 'keep');
    await writeFile(join(dir, 'change.txt'), 'v1');
    await writeFile(join(dir, 'gone.txt'), 'gone');
    await until(() => first.emitted.length === 3);
    await first.stop();

    await writeFile(join(dir, 'change.txt'), 'v2');
    await unlink(join(dir, 'gone.txt'));
    await writeFile(join(dir, 'new.txt'), 'new');
    const second = await startWatch(dir, ledgerPath);
    await until(() => second.emitted.length === 3);
    await sleep(STABILITY_MS * 2);
    await second.watch.settled();
    expect(second.emitted.map((e) => `${e.kind} ${e.key}`).sort()).toEqual([
      'created change.txt',
      'created new.txt',
      'deleted gone.txt',
    ]);
    await second.stop();

    const third = await startWatch(dir, ledgerPath);
    await sleep(STABILITY_MS * 2);
    await third.watch.settled();
    expect(third.emitted).toEqual([]);
  });

  it('announces the files already there on a first start, or only records them with announceExisting off', async () => {
    const announce = await tempDirs();
    await mkdir(announce.dir, { recursive: true });
    await writeFile(join(announce.dir, 'old.txt'), 'old');
    const a = await startWatch(announce.dir, announce.ledgerPath);
    await until(() => a.emitted.length === 1);
    expect(a.emitted[0]).toMatchObject({ kind: 'created', key: 'old.txt' });

    const quiet = await tempDirs();
    await mkdir(quiet.dir, { recursive: true });
    await writeFile(join(quiet.dir, 'old.txt'), 'old');
    const q = await startWatch(quiet.dir, quiet.ledgerPath, { announceExisting: false });
    await sleep(STABILITY_MS * 2);
    await q.watch.settled();
    expect(q.emitted).toEqual([]);
    await unlink(join(quiet.dir, 'old.txt')); // recorded, so its deletion is announced
    await writeFile(join(quiet.dir, 'later.txt'), 'later');
    await until(() => q.emitted.length === 2);
    expect(q.emitted.map((e) => `${e.kind} ${e.key}`).sort()).toEqual(['created later.txt', 'deleted old.txt']);
  });

  it('announces again a change the sink refused, and records it only once accepted', async () => {
    const { dir, ledgerPath } = await tempDirs();
    let refuse = 2;
    const w = await startWatch(dir, ledgerPath, { accept: () => refuse-- <= 0, retryMs: 100 });
    await writeFile(join(dir, 'x.txt'), 'x');
    await until(() => w.emitted.length === 1);
    expect(w.attempts.length).toBe(3);
    expect(w.emitted[0]).toMatchObject({ kind: 'created', key: 'x.txt' });
    await w.stop();
    const again = await startWatch(dir, ledgerPath);
    await sleep(STABILITY_MS * 2);
    await again.watch.settled();
    expect(again.emitted).toEqual([]);
  });
});
