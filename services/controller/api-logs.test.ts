import { appendFile, mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildControlApi } from './api.ts';
import { directoryLogSource, type LogSource } from './log-source.ts';
import { MemoryResourceStore } from './memory-store.ts';
import { trigger } from './test-fixtures.ts';

const FNS = '/apis/serving.elastic-serving.dev/v1/namespaces/default/functions';
let app: FastifyInstance;
let store: MemoryResourceStore;
let dir: string;

const fnDir = (name: string, ns = 'default') => join(dir, ns, name);
const source: LogSource = directoryLogSource((ns, name) => fnDir(name, ns));

async function addFunction(name: string) {
  await store.apply({
    apiVersion: 'serving.elastic-serving.dev/v1',
    kind: 'Function',
    metadata: { name, namespace: 'default' },
    spec: { handler: 'functions/examples/echo/index.ts' },
  });
}

/** Writes replica logs; ages in seconds set their mtimes, so the source lists them oldest first. */
async function logs(fn: string, files: Record<string, [content: string, ageSeconds: number]>) {
  await mkdir(fnDir(fn), { recursive: true });
  const now = Date.now() / 1000;
  for (const [replica, [content, age]] of Object.entries(files)) {
    await writeFile(join(fnDir(fn), `${replica}.log`), content);
    await utimes(join(fnDir(fn), `${replica}.log`), now - age, now - age);
  }
}

function setup(opts: { logSource?: LogSource | null; token?: string } = {}) {
  app = buildControlApi({
    store,
    logPollIntervalMs: 20,
    ...(opts.logSource === null ? {} : { logSource: opts.logSource ?? source }),
    ...(opts.token === undefined ? {} : { token: opts.token }),
  });
}

beforeEach(async () => {
  store = new MemoryResourceStore();
  dir = await mkdtemp(join(tmpdir(), 'es-api-logs-'));
});
afterEach(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GET …/functions/{name}/log', () => {
  beforeEach(async () => {
    await addFunction('echo');
    await logs('echo', { 'echo-2': ['two a\ntwo b\n', 10], 'echo-1': ['one a\none b\none c\n', 20] });
    setup();
  });

  it('prints every replica, oldest first, prefixed when more than one is shown', async () => {
    const res = await app.inject(`${FNS}/echo/log`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toBe('[echo-1] one a\n[echo-1] one b\n[echo-1] one c\n[echo-2] two a\n[echo-2] two b\n');
  });

  it('narrows to one replica (unprefixed), the last N lines of each, and honours prefix', async () => {
    expect((await app.inject(`${FNS}/echo/log?replica=echo-2`)).body).toBe('two a\ntwo b\n');
    expect((await app.inject(`${FNS}/echo/log?tailLines=1`)).body).toBe('[echo-1] one c\n[echo-2] two b\n');
    expect((await app.inject(`${FNS}/echo/log?tailLines=0`)).body).toBe('');
    expect((await app.inject(`${FNS}/echo/log?prefix=false&tailLines=1`)).body).toBe('one c\ntwo b\n');
    expect((await app.inject(`${FNS}/echo/log?prefix=true&replica=echo-1&tailLines=1`)).body).toBe('[echo-1] one c\n');
  });

  it('keeps only lines that may be newer than sinceSeconds', async () => {
    const old = new Date(Date.now() - 600_000).toISOString();
    const recent = new Date(Date.now() - 5_000).toISOString();
    await logs('echo', {
      'echo-1': [`--- ${old} replica echo-1 start (restarts: 0)\nold\n--- ${old} replica echo-1 exited\n`, 590],
      'echo-2': [
        `--- ${old} replica echo-2 start (restarts: 0)\nold\n--- ${old} replica echo-2 exited\n` +
          `--- ${recent} replica echo-2 start\nnew\n`,
        1,
      ],
    });
    const res = await app.inject(`${FNS}/echo/log?sinceSeconds=60`);
    // echo-1 was last written before the cutoff; echo-2 from its recent start on.
    expect(res.body).toBe(`[echo-2] --- ${recent} replica echo-2 start\n[echo-2] new\n`);
  });

  it('ends an unfinished last line', async () => {
    await appendFile(join(fnDir('echo'), 'echo-2.log'), 'no newline yet');
    expect((await app.inject(`${FNS}/echo/log?replica=echo-2`)).body).toBe('two a\ntwo b\nno newline yet\n');
  });

  it('answers an unknown Function, replica or subresource with a 404 Status and bad parameters with 400', async () => {
    await store.apply(trigger('t1'));
    const cases: [string, number, RegExp][] = [
      [`${FNS}/nope/log`, 404, /Function default\/nope not found/],
      [
        `${FNS}/echo/log?replica=echo-9`,
        404,
        /replica "echo-9" of Function default\/echo not found \(it has echo-1, echo-2\)/,
      ],
      [
        '/apis/eventing.knative.dev/v1/namespaces/default/triggers/t1/log',
        404,
        /could not find the requested resource/,
      ],
      [`${FNS}/echo/log?tailLines=-1`, 400, /tailLines must be an integer of at least 0/],
      [`${FNS}/echo/log?sinceSeconds=0`, 400, /sinceSeconds must be an integer of at least 1/],
      [`${FNS}/echo/log?follow=maybe`, 400, /follow must be true or false/],
    ];
    for (const [url, code, message] of cases) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(code);
      expect(res.json(), url).toMatchObject({ kind: 'Status', status: 'Failure', code });
      expect(res.json().message, url).toMatch(message);
    }
    expect((await app.inject(`${FNS}/nope/log`)).json()).toMatchObject({
      reason: 'NotFound',
      details: { name: 'nope', kind: 'functions' },
    });
  });

  it('prints nothing for a Function that has had no replica yet', async () => {
    await addFunction('idle');
    const res = await app.inject(`${FNS}/idle/log`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
  });
});

describe('GET …/log without a log source or without a token', () => {
  it('says logs are not served when the platform passed no log source', async () => {
    await addFunction('echo');
    setup({ logSource: null });
    const res = await app.inject(`${FNS}/echo/log`);
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toMatch(/not served by this control API: it was started without a log source/);
  });

  it('needs the bearer token like every other route', async () => {
    await addFunction('echo');
    setup({ token: 's3cret' });
    expect((await app.inject(`${FNS}/echo/log`)).statusCode).toBe(401);
    const ok = await app.inject({ url: `${FNS}/echo/log`, headers: { authorization: 'Bearer s3cret' } });
    expect(ok.statusCode).toBe(200);
  });
});

interface Follow {
  res: IncomingMessage;
  /** Resolves once the text received so far satisfies `accept`. */
  until(accept: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  ended: Promise<string>;
  close(): void;
}

async function follow(path: string): Promise<Follow> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${path}`;
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let text = '';
      const waiters = new Set<() => void>();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        for (const w of waiters) w();
      });
      const ended = new Promise<string>((r) => res.on('end', () => r(text)));
      resolve({
        res,
        ended,
        close: () => req.destroy(),
        until: (accept, timeoutMs = 5000) =>
          new Promise((ok, fail) => {
            const check = () => {
              if (!accept(text)) return;
              waiters.delete(check);
              clearTimeout(timer);
              ok(text);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`timed out; received so far:\n${text}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          }),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET …/log?follow=true', () => {
  it('waits for a first replica, streams new lines and new replicas, holding unfinished lines', async () => {
    await addFunction('echo');
    setup();
    const f = await follow(`${FNS}/echo/log?follow=true`);
    // Headers arrive before any line: the Function has no replica yet.
    expect(f.res.statusCode).toBe(200);
    expect(f.res.headers['transfer-encoding']).toBe('chunked');

    await mkdir(fnDir('echo'), { recursive: true });
    const one = join(fnDir('echo'), 'echo-1.log');
    await writeFile(one, 'first\n');
    await f.until((t) => t === 'first\n');
    await appendFile(one, 'half a ');
    await new Promise((r) => setTimeout(r, 100));
    await appendFile(one, 'line\n');
    await f.until((t) => t.endsWith('half a line\n'));

    await writeFile(join(fnDir('echo'), 'echo-2.log'), 'second replica\n');
    await appendFile(one, 'more from one\n');
    const text = await f.until(
      (t) => t.includes('[echo-2] second replica\n') && t.includes('[echo-1] more from one\n'),
    );
    expect(text.startsWith('first\nhalf a line\n')).toBe(true);
    f.close();
  });

  it('starts from the tail, then follows', async () => {
    await addFunction('echo');
    await logs('echo', { 'echo-1': ['a\nb\nc\n', 0] });
    setup();
    const f = await follow(`${FNS}/echo/log?follow=true&tailLines=1`);
    await f.until((t) => t === 'c\n');
    await appendFile(join(fnDir('echo'), 'echo-1.log'), 'd\n');
    await f.until((t) => t === 'c\nd\n');
    f.close();
  });

  it('reads a replaced log file from its start', async () => {
    await addFunction('echo');
    await logs('echo', { 'echo-1': ['short\n', 0] });
    setup();
    const f = await follow(`${FNS}/echo/log?follow=true`);
    await f.until((t) => t === 'short\n');
    const next = join(dir, 'next.log');
    await writeFile(next, 'a longer replacement\n');
    await rename(next, join(fnDir('echo'), 'echo-1.log'));
    await f.until((t) => t === 'short\na longer replacement\n');
    f.close();
  });

  it('ends cleanly when the server closes, after a last read', async () => {
    await addFunction('echo');
    await logs('echo', { 'echo-1': ['a\n', 0] });
    setup();
    const f = await follow(`${FNS}/echo/log?follow=true`);
    await f.until((t) => t === 'a\n');
    await appendFile(join(fnDir('echo'), 'echo-1.log'), 'last words, no newline');
    await app.close();
    expect(await f.ended).toBe('a\nlast words, no newline\n');
  });

  it('stops looking at the files once the client hangs up', async () => {
    await addFunction('echo');
    let lookups = 0;
    const counting: LogSource = {
      files: (ns, name) => {
        lookups++;
        return source.files(ns, name);
      },
    };
    setup({ logSource: counting });
    const f = await follow(`${FNS}/echo/log?follow=true`);
    await new Promise((r) => setTimeout(r, 100));
    expect(lookups).toBeGreaterThan(2);
    f.close();
    await new Promise((r) => setTimeout(r, 100));
    const after = lookups;
    await new Promise((r) => setTimeout(r, 200));
    expect(lookups).toBe(after);
  });

  it('ends when the Function is deleted', async () => {
    await addFunction('echo');
    await logs('echo', { 'echo-1': ['a\n', 0] });
    setup();
    const f = await follow(`${FNS}/echo/log?follow=true`);
    await f.until((t) => t === 'a\n');
    await store.delete({ kind: 'Function', namespace: 'default', name: 'echo' });
    expect(await f.ended).toBe('a\n');
  });
});
