import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../brokers/memory/memory-log.ts';
import { buildIngress } from '../../services/ingress/server.ts';
import { groupViolations, type Outcome, problem, sendAll, tally } from './fuzz-check.ts';
import {
  batchInvalid,
  batchValid,
  binaryInvalid,
  binaryRandom,
  contentTypeInvalid,
  headerEncodingInvalid,
  headerEncodingValid,
  pathInvalid,
  structuredInvalid,
} from './fuzz-events.ts';
import {
  bodyLimit,
  chunkedInvalid,
  contentLengthInvalid,
  headerNoiseInvalid,
  methodInvalid,
  oversizedHeaders,
  quirksMaybe,
  requestLineInvalid,
  specialInvalid,
} from './fuzz-http.ts';
import { caseId, type FuzzCase } from './fuzz-shared.ts';
import { REJECTIONS } from './parser-rejections.ts';
import { exchange, parseAll, sendRaw } from './raw-http.ts';

// Fuzzes the broker ingress over real sockets (issue 2, "Bad input and failure"): every malformed request gets a 4xx
// whose JSON body says why, never a 5xx or silence, and the process stays up with bounded memory.
// Reproduce a run with FUZZ_SEED=<seed printed on failure>.

const MAX_BODY = 64 * 1024;
const TOPIC = 'default.default';
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CONCURRENCY = 24;
/** Every third request that a client library can send goes through undici; the rest are raw bytes. */
const UNDICI_EVERY = 3;

/** How many requests of each kind one pass sends (10,950 in all; the test runs two passes). */
const PLAN: [fc.Arbitrary<FuzzCase>, number][] = [
  [binaryInvalid, 1200],
  [binaryRandom, 400],
  [headerEncodingInvalid, 1000],
  [headerEncodingValid, 300],
  [structuredInvalid, 1300],
  [batchInvalid, 900],
  [batchValid, 150],
  [contentTypeInvalid, 700],
  [pathInvalid, 700],
  [methodInvalid, 600],
  [bodyLimit(MAX_BODY), 350],
  [oversizedHeaders, 300],
  [chunkedInvalid, 800],
  [contentLengthInvalid, 500],
  [requestLineInvalid, 700],
  [specialInvalid, 150],
  [headerNoiseInvalid, 800],
  [quirksMaybe, 100],
];

// A real collection before each memory sample, so the bound is on what is retained, not on garbage not yet freed.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

let log: MemoryEventLog;
let app: FastifyInstance;
let port: number;
let pool: Pool;
/** Ids of every event the channel stored, as its subscriber saw them. */
const stored: string[] = [];

beforeAll(async () => {
  log = new MemoryEventLog();
  await log.ensureTopic(TOPIC);
  await log.subscribe(TOPIC, 'fuzz', async (event) => void stored.push(String(event.attributes.id)), {
    maxInFlight: 500,
  });
  app = buildIngress({
    resolveBroker: (ns, name) => (ns === 'default' && name === 'default' ? { topic: TOPIC, log } : undefined),
    logLevel: 'silent',
    maxBodyBytes: MAX_BODY,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
  pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8 });
});

afterAll(async () => {
  await pool?.close();
  await app?.close();
  await log?.close(0);
});

const validEvent = (id: string) =>
  Buffer.from(
    `POST /default/default HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\nce-id: ${id}\r\nce-source: /fuzz\r\nce-type: t\r\nContent-Length: 2\r\n\r\n{}`,
  );

function generate(seed: number): FuzzCase[] {
  return PLAN.flatMap(([arbitrary, numRuns], i) => fc.sample(arbitrary, { seed: seed + i, numRuns }));
}

describe('broker ingress under malformed input', () => {
  it('answers 2 × ~11,000 malformed requests with a 4xx and a JSON reason, and stays up with bounded memory', async () => {
    // Two passes with different cases: memory may rise once (allocator, JIT) but must level off, not keep growing.
    const passes = [generate(SEED), generate(SEED + 1000)];
    expect(passes[0]!.length).toBeGreaterThanOrEqual(10_000);
    const send = (cases: FuzzCase[], firstIndex: number) =>
      sendAll(port, pool, cases, { concurrency: CONCURRENCY, undiciEvery: UNDICI_EVERY, firstIndex });

    await send(passes[1]!.slice(0, 500), 10_000_000); // warm-up, so lazily built code paths do not count as growth
    gc();
    const memory = [process.memoryUsage()];
    const outcomes: Outcome[] = [];
    const started = performance.now();
    for (const cases of passes) {
      outcomes.push(...(await send(cases, outcomes.length)));
      gc();
      memory.push(process.memoryUsage());
    }
    const seconds = (performance.now() - started) / 1000;

    // Still serving: a valid event gets 202 and reaches the channel.
    const last = await sendRaw(port, validEvent('fuzz-final'));
    await new Promise((r) => setTimeout(r, 300));

    const violations: { outcome: Outcome; why: string }[] = [];
    for (const outcome of outcomes) {
      const why = problem(outcome);
      if (why) violations.push({ outcome, why });
    }
    // Nothing refused may have been stored (a refusal that still stored would get the event sent twice on retry).
    const byId = new Map(outcomes.map((o) => [caseId(o.index), o]));
    for (const id of new Set(stored)) {
      const outcome = byId.get(id);
      if (outcome && outcome.status !== 202)
        violations.push({ outcome, why: `event stored but answered ${outcome.status ?? 'nothing'}` });
    }

    const [m0, m1, m2] = memory as [NodeJS.MemoryUsage, NodeJS.MemoryUsage, NodeJS.MemoryUsage];
    const lines = [
      `seed ${SEED}: ${outcomes.length} requests in ${seconds.toFixed(1)} s; after GC rss ${mib(m0.rss)} → ${mib(m1.rss)} → ${mib(m2.rss)} MiB, ` +
        `heap ${mib(m0.heapUsed)} → ${mib(m1.heapUsed)} → ${mib(m2.heapUsed)} MiB`,
    ];
    for (const [category, t] of tally(outcomes)) {
      lines.push(
        `  ${category.padEnd(20)} ${String(t.sent).padStart(5)} (raw ${t.raw}, undici ${t.undici}) statuses ${JSON.stringify(t.statuses)}`,
      );
    }
    console.log(lines.join('\n'));
    const report = groupViolations(violations);
    if (report.length > 0) console.log(`FUZZ FAILURES (reproduce with FUZZ_SEED=${SEED}):\n${report.join('\n')}`);

    expect(report, `seed ${SEED}`).toEqual([]);
    expect(last.status, `seed ${SEED}`).toBe(202);
    expect(stored, `seed ${SEED}`).toContain('fuzz-final');
    expect(m2.rss - m0.rss, `rss growth over both passes, seed ${SEED}`).toBeLessThan(100 * 2 ** 20);
    expect(m2.rss - m1.rss, `rss growth over the second pass, seed ${SEED}`).toBeLessThan(50 * 2 ** 20);
    expect(m2.heapUsed - m0.heapUsed, `heap growth, seed ${SEED}`).toBeLessThan(30 * 2 ** 20);
  }, 180_000);

  it.each(REJECTIONS)(
    'answers a request Node refuses with a JSON reason: $name',
    async ({ bytes, status, reason, halfClose }) => {
      const answer = await sendRaw(port, bytes, { halfClose: halfClose ?? true, timeoutMs: 5000 });
      expect(answer.status, `no answer (${answer.end}${answer.errorCode ? ` ${answer.errorCode}` : ''})`).toBeDefined();
      expect(status).toContain(answer.status);
      const body = JSON.parse(answer.body.toString('utf8') || 'null') as { error?: string; code?: string } | null;
      expect(body?.code).toMatch(/^ES_ERR_[A-Z_]+$/);
      expect(body?.error?.toLowerCase()).toContain(reason.toLowerCase());
    },
  );

  it('accepts a body of exactly maxBodyBytes and refuses one byte more with 413', async () => {
    const head = (n: number) =>
      `POST /default/default HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\nce-id: limit-${n}\r\nce-source: /s\r\nce-type: t\r\nContent-Length: ${n}\r\n\r\n`;
    const at = await sendRaw(port, Buffer.concat([Buffer.from(head(MAX_BODY)), Buffer.alloc(MAX_BODY, 0x61)]));
    expect(at.status).toBe(202);
    const over = await sendRaw(
      port,
      Buffer.concat([Buffer.from(head(MAX_BODY + 1)), Buffer.alloc(MAX_BODY + 1, 0x61)]),
    );
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body.toString())).toMatchObject({
      code: 'ES_ERR_BODY_TOO_LARGE',
      error: expect.stringContaining(String(MAX_BODY)),
    });
  });

  it('answers a valid event pipelined before garbage with its own 202, then refuses the garbage', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 40 }), async (junk) => {
        const id = `pipe-${n++}`;
        const bytes = Buffer.concat([
          validEvent(id),
          Buffer.from('\u0000'),
          Buffer.from(junk),
          Buffer.from('\r\n\r\n'),
        ]);
        const answers = parseAll(await exchange(port, bytes));
        await new Promise((r) => setTimeout(r, 20));
        // The first answer belongs to the first request: it was stored, so a refusal there would be a lie.
        expect(
          answers[0]?.status,
          `answers ${answers.map((a) => a.status).join(', ')}; stored: ${stored.includes(id)}`,
        ).toBe(202);
        expect(answers[1]?.status).toBe(400);
      }),
      { seed: SEED, numRuns: 25 },
    );
  });
});
