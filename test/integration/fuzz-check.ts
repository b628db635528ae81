import type { Pool } from 'undici';
import { ERROR_CODES } from '../../services/core/errors.ts';
import { caseId, type FuzzCase, fillIds, ID_SLOT } from './fuzz-shared.ts';
import { sendRaw } from './raw-http.ts';

/** What one generated request got back. */
export interface Outcome {
  index: number;
  fuzz: FuzzCase;
  transport: 'raw' | 'undici';
  /** `undefined`: no answer at all (see `end`). */
  status: number | undefined;
  body: Buffer;
  end: string;
}

async function viaUndici(
  pool: Pool,
  fuzz: FuzzCase,
  index: number,
): Promise<Omit<Outcome, 'index' | 'fuzz'> | undefined> {
  const spec = fuzz.spec!;
  const headers = spec.headers.flatMap(([k, v]) => [k, v.replaceAll(ID_SLOT, caseId(index))]);
  try {
    const res = await pool.request({
      method: spec.method,
      path: spec.path,
      headers,
      body: fillIds(spec.body, index),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    return { transport: 'undici', status: res.statusCode, body, end: 'answer' };
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    // undici refusing to build the request is our generator's doing, not the server's answer: send it raw instead.
    if (code === 'UND_ERR_INVALID_ARG') return undefined;
    return { transport: 'undici', status: undefined, body: Buffer.alloc(0), end: code };
  }
}

/** Sends one case (spec cases every `undiciEvery`-th time through undici, else raw bytes over TCP). */
export async function sendCase(
  port: number,
  pool: Pool,
  fuzz: FuzzCase,
  index: number,
  undiciEvery: number,
): Promise<Outcome> {
  if (fuzz.spec && index % undiciEvery === 0) {
    const answer = await viaUndici(pool, fuzz, index);
    if (answer) return { index, fuzz, ...answer };
  }
  const raw = await sendRaw(port, fillIds(fuzz.bytes, index), {
    halfClose: fuzz.halfClose ?? false,
    head: fuzz.head ?? false,
    timeoutMs: 10_000,
  });
  return {
    index,
    fuzz,
    transport: 'raw',
    status: raw.status,
    body: raw.body,
    end: raw.errorCode ? `${raw.end} ${raw.errorCode}` : raw.end,
  };
}

/** Sends every case with `concurrency` requests in flight; case `i` gets index `firstIndex + i` (its event id). */
export async function sendAll(
  port: number,
  pool: Pool,
  cases: readonly FuzzCase[],
  options: { concurrency: number; undiciEvery: number; firstIndex?: number },
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(cases.length);
  const first = options.firstIndex ?? 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < cases.length) {
        const i = next++;
        outcomes[i] = await sendCase(port, pool, cases[i]!, first + i, options.undiciEvery);
      }
    }),
  );
  return outcomes;
}

/** Why an answer breaks the contract (a 4xx with `{"error", "code": "ES_ERR_..."}` for anything invalid), if it does. */
export function problem(o: Outcome): string | undefined {
  const { status, fuzz } = o;
  if (status === undefined) return `no answer (${o.end})`;
  if (status >= 500) return `status ${status}`;
  if (fuzz.expect === 'valid') return status === 202 ? undefined : `valid request answered ${status}`;
  if (status === 202 && fuzz.expect === 'maybe') return undefined;
  if (status < 400) return `status ${status} for an invalid request`;
  if (fuzz.head) return o.body.length === 0 ? undefined : 'HEAD answer has a body';
  let parsed: { error?: unknown; code?: unknown };
  try {
    parsed = JSON.parse(o.body.toString('utf8')) as typeof parsed;
  } catch {
    return `${status} without a JSON body`;
  }
  if (typeof parsed.error !== 'string' || parsed.error.trim() === '') return `${status} without an error message`;
  if (typeof parsed.code !== 'string' || !Object.hasOwn(ERROR_CODES, parsed.code))
    return `${status} with code ${String(parsed.code)}, not an ES_ERR_ code`;
  return undefined;
}

/** A request, printable: latin1 so every byte shows, cut short. */
export function printable(bytes: Buffer, max = 400): string {
  return (
    JSON.stringify(bytes.subarray(0, max).toString('latin1')) + (bytes.length > max ? ` …(${bytes.length} bytes)` : '')
  );
}

export interface Tally {
  sent: number;
  raw: number;
  undici: number;
  statuses: Record<string, number>;
}

/** Per category: how many were sent, by which transport, and which statuses came back. */
export function tally(outcomes: readonly Outcome[]): Map<string, Tally> {
  const out = new Map<string, Tally>();
  for (const o of outcomes) {
    let t = out.get(o.fuzz.category);
    if (!t) {
      t = { sent: 0, raw: 0, undici: 0, statuses: {} };
      out.set(o.fuzz.category, t);
    }
    t.sent++;
    t[o.transport]++;
    const key = o.status === undefined ? 'none' : String(o.status);
    t.statuses[key] = (t.statuses[key] ?? 0) + 1;
  }
  return out;
}

/** Violations grouped by category and kind, each with a count and the first offending request and answer. */
export function groupViolations(items: readonly { outcome: Outcome; why: string }[]): string[] {
  const groups = new Map<string, { count: number; first: Outcome }>();
  for (const { outcome, why } of items) {
    const key = `${outcome.fuzz.category} [${outcome.fuzz.expect}, ${outcome.transport}]: ${why}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { count: 1, first: outcome });
  }
  return [...groups].map(
    ([key, { count, first }]) =>
      `${count} × ${key}\n    e.g. case ${first.index}: ${printable(first.fuzz.bytes)}\n    answer: ${first.status ?? '-'} ${printable(first.body, 200)}`,
  );
}
