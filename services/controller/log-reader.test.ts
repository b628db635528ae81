import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineTime, openLog, readLines, sinceStart, tailStart } from './log-reader.ts';
import { directoryLogSource } from './log-source.ts';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'es-log-reader-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function fileWith(content: string | Buffer) {
  const path = join(dir, `f${n++}.log`);
  await writeFile(path, content);
  const file = (await openLog(path))!;
  const { size } = await file.stat();
  return { file, size, path };
}

async function linesOf(content: string | Buffer, from = 0) {
  const { file, size } = await fileWith(content);
  const lines: string[] = [];
  const rest = await readLines(file, from, size, Buffer.alloc(0), (l) => void lines.push(l.toString('utf8')));
  await file.close();
  return { lines, rest: rest.toString('utf8') };
}

async function tail(content: string, lines: number, from = 0) {
  const { file, size } = await fileWith(content);
  const at = await tailStart(file, from, size, lines);
  await file.close();
  return Buffer.from(content).subarray(at).toString('utf8');
}

describe('readLines', () => {
  it('hands over complete lines and returns the unfinished one', async () => {
    expect(await linesOf('a\nbb\n\nccc')).toEqual({ lines: ['a', 'bb', ''], rest: 'ccc' });
    expect(await linesOf('a\n')).toEqual({ lines: ['a'], rest: '' });
    expect(await linesOf('')).toEqual({ lines: [], rest: '' });
  });

  it('keeps multi-byte characters and long lines whole across read chunks', async () => {
    // 64 KiB chunks: put a 3-byte character and a 200 KiB line across chunk boundaries.
    const long = 'x'.repeat(200_000);
    const text = `${'é'.repeat(40_000)}€\n${long}\nlast`;
    const { lines, rest } = await linesOf(text);
    expect(lines).toEqual([`${'é'.repeat(40_000)}€`, long]);
    expect(rest).toBe('last');
  });

  it('continues a carried unfinished line and can stop early', async () => {
    const { file, size } = await fileWith('tail of one\ntwo\nthree\n');
    const seen: string[] = [];
    const rest = await readLines(file, 0, size, Buffer.from('head, '), (l) => {
      seen.push(l.toString());
      return seen.length < 2 ? undefined : false;
    });
    await file.close();
    expect(seen).toEqual(['head, tail of one', 'two']);
    expect(rest.length).toBe(0);
  });
});

describe('tailStart', () => {
  it('finds where the last N lines begin, counting an unfinished last line', async () => {
    expect(await tail('1\n2\n3\n4\n', 2)).toBe('3\n4\n');
    expect(await tail('1\n2\n3\n4', 2)).toBe('3\n4');
    expect(await tail('1\n2\n', 5)).toBe('1\n2\n');
    expect(await tail('1\n2\n', 0)).toBe('');
    expect(await tail('\n\n\n', 2)).toBe('\n\n');
    expect(await tail('', 3)).toBe('');
  });

  it('never goes before the start of the range and works across chunks', async () => {
    expect(await tail('1\n2\n3\n', 5, 2)).toBe('2\n3\n');
    const many = Array.from({ length: 30_000 }, (_, i) => `line ${i}`).join('\n');
    expect(await tail(`${many}\n`, 3)).toBe('line 29997\nline 29998\nline 29999\n');
  });
});

describe('lineTime and sinceStart', () => {
  it('reads the runtime run markers and pino times, nothing else', () => {
    expect(lineTime('--- 2024-05-01T10:00:00.000Z replica echo-1 start (restarts: 0)')).toBe(
      Date.parse('2024-05-01T10:00:00.000Z'),
    );
    expect(lineTime('{"level":30,"time":1714557600000,"msg":"hi"}')).toBe(1714557600000);
    expect(lineTime('{"level":30,"time":"2024-05-01T10:00:00Z"}')).toBe(Date.parse('2024-05-01T10:00:00Z'));
    expect(lineTime('plain output at 2024-05-01T10:00:00Z')).toBeUndefined();
    expect(lineTime('{"msg":"no time"}')).toBeUndefined();
  });

  it('starts after the last line known to be older than the cutoff', async () => {
    const t0 = Date.parse('2024-05-01T10:00:00Z');
    const iso = (ms: number) => new Date(ms).toISOString();
    const content = [
      `--- ${iso(t0)} replica r-1 start (restarts: 0)`,
      'old plain',
      `{"level":30,"time":${t0 + 60_000},"msg":"old pino"}`,
      'plain between',
      `{"level":30,"time":${t0 + 600_000},"msg":"new pino"}`,
      'new plain',
      '',
    ].join('\n');
    const { file, size } = await fileWith(content);
    const text = async (cutoff: number) => content.slice(await sinceStart(file, size, cutoff));
    expect(await text(t0 + 120_000)).toBe(
      `plain between\n{"level":30,"time":${t0 + 600_000},"msg":"new pino"}\nnew plain\n`,
    );
    expect(await text(t0 - 1)).toBe(content);
    expect(await text(t0 + 30_000)).toBe(content.slice(content.indexOf('old plain')));
    // A cutoff after every stamp keeps only what follows the last one (it may be recent).
    expect(await text(t0 + 700_000)).toBe('new plain\n');
    await file.close();
  });

  it('skips a whole file last written before the cutoff', async () => {
    const { file, size, path } = await fileWith('a\nb\n');
    const old = new Date(Date.now() - 3_600_000);
    await utimes(path, old, old);
    expect(await sinceStart(file, size, Date.now() - 60_000)).toBe(size);
    expect(await sinceStart(file, size, old.getTime() - 1000)).toBe(0);
    await file.close();
  });
});

describe('directoryLogSource', () => {
  it('lists <replica>.log files, least recently written first; none for a missing directory', async () => {
    const fnDir = join(dir, 'logs', 'default', 'echo');
    await mkdir(fnDir, { recursive: true });
    const at = Date.now() / 1000;
    for (const [name, age] of [
      ['echo-10.log', 10],
      ['echo-2.log', 30],
      ['echo-1.log', 30],
      ['notes.txt', 0],
    ] as const) {
      await writeFile(join(fnDir, name), 'x\n');
      await utimes(join(fnDir, name), at - age, at - age);
    }
    await mkdir(join(fnDir, 'sub.log'));
    const source = directoryLogSource((ns, name) => join(dir, 'logs', ns, name));
    expect(await source.files('default', 'echo')).toEqual([
      { replica: 'echo-1', path: join(fnDir, 'echo-1.log') },
      { replica: 'echo-2', path: join(fnDir, 'echo-2.log') },
      { replica: 'echo-10', path: join(fnDir, 'echo-10.log') },
    ]);
    expect(await source.files('default', 'nothing-yet')).toEqual([]);
  });
});
