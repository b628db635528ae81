import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ObjectLedger } from './ledger.ts';

const dirs: string[] = [];
async function ledgerPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'es-ledger-'));
  dirs.push(dir);
  return join(dir, 'nested', 'source.json');
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('ObjectLedger', () => {
  it('is fresh on first open, then replays what was recorded (journal over snapshot) after a reopen', async () => {
    const path = await ledgerPath();
    const first = await ObjectLedger.open(path, 'dir:/a');
    expect(first.fresh).toBe(true);
    await first.record('a.txt', { etag: 'e1', size: 1 });
    await first.record('b.txt', { etag: 'e2', size: 2, mtimeMs: 5 });
    await first.record('a.txt', undefined);
    await first.close(); // no compaction: everything after the snapshot is in the journal only

    const second = await ObjectLedger.open(path, 'dir:/a');
    expect(second.fresh).toBe(false);
    expect(second.keys()).toEqual(['b.txt']);
    expect(second.get('b.txt')).toEqual({ etag: 'e2', size: 2, mtimeMs: 5 });
    // Opening compacted: the snapshot holds the state, the journal is empty.
    expect(JSON.parse(await readFile(path, 'utf8')).objects).toEqual({ 'b.txt': { etag: 'e2', size: 2, mtimeMs: 5 } });
    expect(await readFile(`${path}.journal`, 'utf8').catch(() => '')).toBe('');
    await second.close();
  });

  it('skips a torn last journal line (a process killed mid-append)', async () => {
    const path = await ledgerPath();
    const ledger = await ObjectLedger.open(path, 's3:x');
    await ledger.record('kept', { etag: 'k', size: 1 });
    await ledger.close();
    await appendFile(`${path}.journal`, '{"s":"torn","v":{"et');
    const reopened = await ObjectLedger.open(path, 's3:x');
    expect(reopened.keys()).toEqual(['kept']);
    await reopened.close();
  });

  it('starts over when the scope changed (another directory or bucket) and forgets on request', async () => {
    const path = await ledgerPath();
    const ledger = await ObjectLedger.open(path, 'dir:/a');
    await ledger.record('x', { etag: 'x', size: 1 });
    await ledger.compact(true);
    await ledger.close();
    const other = await ObjectLedger.open(path, 'dir:/b');
    expect(other.fresh).toBe(true);
    expect(other.size).toBe(0);
    await other.close();
    await ObjectLedger.forget(path);
    expect((await ObjectLedger.open(path, 'dir:/b')).fresh).toBe(true);
  });
});
