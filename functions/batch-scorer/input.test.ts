import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunksOf, fingerprintInput, formatOf, readChunks, readRows, taskRows } from './input.ts';
import type { InputRow } from './types.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batch-input-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('readRows', () => {
  it('numbers JSONL rows from 0 without blank lines, keeps own ids, and keeps unparsable lines as failed rows', async () => {
    const file = join(dir, 'rows.jsonl');
    await writeFile(
      file,
      '{"id":"a","features":[1,2,3,4]}\r\n\n[5,6,7,8]\n  \n{"x":1}\nnot json\n{"id":7}\n{"id":{"nested":1}}',
    );
    const rows = await all(readRows(file));
    expect(rows.map((r) => r.id)).toEqual(['a', 1, 2, 3, 7, 5]);
    expect(rows[1]!.row).toEqual([5, 6, 7, 8]);
    expect(rows[3]!.row).toBe('not json');
    expect(rows[3]!.error).toMatch(/not valid JSON/);
    expect(rows.filter((r) => r.error)).toHaveLength(1);
  });

  it('reads CSV with a header, numeric cells as numbers, ids from an id column', async () => {
    const file = join(dir, 'rows.CSV');
    await writeFile(file, '\ufeffid,sepal_length,sepal_width\nr1,5.1,3.5\n\nr2,"4,9",3\nr3,6\n');
    expect(formatOf(file)).toBe('csv');
    const rows = await all(readRows(file));
    expect(rows).toEqual([
      { id: 'r1', row: { id: 'r1', sepal_length: 5.1, sepal_width: 3.5 } },
      { id: 'r2', row: { id: 'r2', sepal_length: '4,9', sepal_width: 3 } },
      { id: 'r3', row: { id: 'r3', sepal_length: 6 } },
    ]);
    const noIds = join(dir, 'noids.csv');
    await writeFile(noIds, 'a,b\n1,2\n3,4\n');
    expect((await all(readRows(noIds))).map((r) => r.id)).toEqual([0, 1]);
  });

  it('splits lines across read buffers and multi-byte characters, into chunks a worker parses back', async () => {
    const file = join(dir, 'big.jsonl');
    const lines = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ id: `é-${i}`, v: 'ü'.repeat(i % 50) }));
    // Blank lines and CRLF here and there, so chunks span read buffers with both inside them.
    const text = lines.map((l, i) => (i % 1000 === 7 ? `${l}\r\n \t\n` : `${l}\n`)).join('');
    await writeFile(file, text);
    expect((await all(readRows(file))).map((r) => r.row)).toEqual(lines.map((l) => JSON.parse(l)));
    const chunks = await all(readChunks(file, 'jsonl', 700));
    expect(chunks.map((c) => [c.chunk, c.start])).toEqual(chunks.map((_, i) => [i, i * 700]));
    const rows = chunks.flatMap((c) => taskRows(c));
    expect(rows.map((r) => r.id)).toEqual(lines.map((_, i) => `é-${i}`));
    expect(rows.every((r) => r.error === undefined)).toBe(true);
    expect((await fingerprintInput(file)).rows).toBe(30_000);
  });

  it('skips a BOM and counts a last line without a newline; rows of a chunk keep their file index', async () => {
    const file = join(dir, 'bom.jsonl');
    await writeFile(file, '\ufeff[1]\n\n  \n{"id":"x"}\r\nnope\n[4]');
    const chunks = await all(readChunks(file, 'jsonl', 2));
    expect(chunks.map((c) => taskRows(c).map((r) => [r.id, r.error !== undefined]))).toEqual([
      [
        [0, false],
        ['x', false],
      ],
      [
        [2, true],
        [3, false],
      ],
    ]);
    expect(taskRows(chunks[1]!)[0]!.row).toBe('nope');
    expect((await fingerprintInput(file)).rows).toBe(4);
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '\n \n');
    expect(await all(readChunks(empty, 'jsonl', 2))).toEqual([]);
    expect((await fingerprintInput(empty)).rows).toBe(0);
  });
});

describe('chunksOf and fingerprintInput', () => {
  it('groups rows by chunk size, the last chunk shorter', async () => {
    async function* rows(): AsyncGenerator<InputRow> {
      for (let i = 0; i < 10; i++) yield { id: i, row: [i] };
    }
    const chunks = await all(chunksOf(rows(), 4));
    expect(chunks.map((c) => [c.chunk, c.rows.map((r) => r.id)])).toEqual([
      [0, [0, 1, 2, 3]],
      [1, [4, 5, 6, 7]],
      [2, [8, 9]],
    ]);
  });

  it('hashes the bytes and counts rows as readRows does', async () => {
    const file = join(dir, 'fp.jsonl');
    const text = '[1]\n\n[2]\nbad\n';
    await writeFile(file, text);
    const fp = await fingerprintInput(file);
    expect(fp.rows).toBe(3);
    expect(fp.size).toBe(Buffer.byteLength(text));
    expect(fp.sha256).toBe(createHash('sha256').update(text).digest('hex'));
    const csv = join(dir, 'fp.csv');
    await writeFile(csv, 'a,b\n"multi\nline",2\n3,4\n');
    expect((await fingerprintInput(csv)).rows).toBe(2);
  });
});
