import { describe, expect, it } from 'vitest';
import { ElasticServingError } from '../errors.ts';
import { type Attempt, type AttemptResult, abortableSleep, deliverWithRetries } from './executor.ts';
import { type DeliverySpec, toResolvedPolicy } from './policy.ts';

const res = (status: number, headers: Record<string, string> = {}, body = ''): AttemptResult => ({
  status,
  headers,
  body: Buffer.from(body),
});

/** An attempt that plays a script: a status/result per call, or an Error to reject with. */
function scripted(script: (number | AttemptResult | Error)[]) {
  const calls: { timeoutMs: number | undefined; signal: AbortSignal }[] = [];
  const attempt: Attempt = async (timeoutMs, signal) => {
    calls.push({ timeoutMs, signal });
    const step = script[Math.min(calls.length - 1, script.length - 1)];
    if (step instanceof Error) throw step;
    return typeof step === 'number' ? res(step) : (step as AttemptResult);
  };
  return { attempt, calls };
}

/** A fake sleep that records waits and returns at once, plus the onRetry log. */
function fakeTime() {
  const slept: number[] = [];
  const retries: number[] = [];
  return {
    slept,
    retries,
    opts: {
      sleep: async (ms: number) => {
        slept.push(ms);
      },
      onRetry: (_n: number, ms: number) => retries.push(ms),
    },
  };
}

const policy = (spec: DeliverySpec) => toResolvedPolicy(spec);

describe('deliverWithRetries', () => {
  it('succeeds on a 2xx at the first attempt without waiting', async () => {
    const { attempt, calls } = scripted([202]);
    const t = fakeTime();
    const out = await deliverWithRetries(attempt, policy({ retry: 3, backoffDelay: 'PT1S' }), t.opts);
    expect(out).toMatchObject({ ok: true, attempts: 1, lastStatus: 202 });
    expect(calls).toHaveLength(1);
    expect(t.slept).toEqual([]);
  });

  it('makes retry + 1 attempts with exponential waits delay × 2^n (n from 0)', async () => {
    const { attempt, calls } = scripted([500]);
    const t = fakeTime();
    const out = await deliverWithRetries(
      attempt,
      policy({ retry: 4, backoffPolicy: 'exponential', backoffDelay: 'PT0.5S' }),
      t.opts,
    );
    expect(out).toMatchObject({ ok: false, attempts: 5, lastStatus: 500 });
    expect(out.result?.status).toBe(500);
    expect(calls).toHaveLength(5);
    expect(t.slept).toEqual([500, 1000, 2000, 4000]);
  });

  it('uses linear waits delay × n (n from 0, so the first retry is immediate, as in Knative)', async () => {
    const { attempt } = scripted([503]);
    const t = fakeTime();
    const out = await deliverWithRetries(
      attempt,
      policy({ retry: 4, backoffPolicy: 'linear', backoffDelay: 'PT1S' }),
      t.opts,
    );
    expect(out.attempts).toBe(5);
    expect(t.retries).toEqual([0, 1000, 2000, 3000]);
    expect(t.slept).toEqual([1000, 2000, 3000]);
  });

  it('stops after one attempt on a non-retryable 400', async () => {
    const { attempt, calls } = scripted([res(400, {}, 'bad'), 200]);
    const t = fakeTime();
    const out = await deliverWithRetries(attempt, policy({ retry: 5, backoffDelay: 'PT1S' }), t.opts);
    expect(out).toMatchObject({ ok: false, attempts: 1, lastStatus: 400 });
    expect(out.result?.body.toString()).toBe('bad');
    expect(calls).toHaveLength(1);
    expect(t.slept).toEqual([]);
  });

  it.each([401, 403, 413, 422, 302])('does not retry %d', async (status) => {
    const { calls, attempt } = scripted([status, 200]);
    const out = await deliverWithRetries(attempt, policy({ retry: 3 }), fakeTime().opts);
    expect(out).toMatchObject({ ok: false, attempts: 1, lastStatus: status });
    expect(calls).toHaveLength(1);
  });

  it('retries 404, 408, 409, 429 and 5xx until a 2xx', async () => {
    const { attempt } = scripted([404, 408, 409, 429, 502, 200]);
    const out = await deliverWithRetries(attempt, policy({ retry: 10 }), fakeTime().opts);
    expect(out).toMatchObject({ ok: true, attempts: 6, lastStatus: 200 });
  });

  it('retries network errors and reports the last one', async () => {
    const { attempt } = scripted([new Error('ECONNREFUSED')]);
    const out = await deliverWithRetries(attempt, policy({ retry: 2 }), fakeTime().opts);
    expect(out.ok).toBe(false);
    expect(out.attempts).toBe(3);
    expect(out.lastError?.message).toBe('ECONNREFUSED');
    expect(out.lastStatus).toBeUndefined();
    expect(out.result).toBeUndefined();
  });

  it('with retry 0 makes exactly one attempt', async () => {
    const { attempt, calls } = scripted([500]);
    const out = await deliverWithRetries(attempt, policy({}), fakeTime().opts);
    expect(out.attempts).toBe(1);
    expect(calls).toHaveLength(1);
  });

  it('reports every attempt to onAttempt', async () => {
    const seen: [number, number | string][] = [];
    const { attempt } = scripted([new Error('reset'), 500, 200]);
    await deliverWithRetries(attempt, policy({ retry: 5 }), {
      ...fakeTime().opts,
      onAttempt: (n, r) => seen.push([n, r instanceof Error ? r.message : r.status]),
    });
    expect(seen).toEqual([
      [1, 'reset'],
      [2, 500],
      [3, 200],
    ]);
  });

  describe('Retry-After', () => {
    it('waits the Retry-After of a 429, capped by retryAfterMax, when longer than the backoff', async () => {
      const { attempt } = scripted([res(429, { 'retry-after': '30' }), 200]);
      const t = fakeTime();
      const p = policy({ retry: 3, backoffDelay: 'PT0.1S', retryAfterMax: 'PT10S' });
      const out = await deliverWithRetries(attempt, p, t.opts);
      expect(out.ok).toBe(true);
      expect(t.slept).toEqual([10_000]);
    });

    it('honours an uncapped-by-max value below retryAfterMax, and an HTTP-date against the injected clock', async () => {
      const now = Date.UTC(2024, 0, 1, 12, 0, 0);
      const { attempt } = scripted([
        res(503, { 'Retry-After': '2' }),
        res(503, { 'Retry-After': 'Mon, 01 Jan 2024 12:00:04 GMT' }),
        200,
      ]);
      const t = fakeTime();
      const p = policy({ retry: 3, backoffDelay: 'PT0.1S', retryAfterMax: 'PT1M' });
      await deliverWithRetries(attempt, p, { ...t.opts, now: () => now });
      expect(t.slept).toEqual([2_000, 4_000]);
    });

    it('keeps the backoff when it is longer than Retry-After', async () => {
      const { attempt } = scripted([res(429, { 'retry-after': '1' }), 200]);
      const t = fakeTime();
      await deliverWithRetries(attempt, policy({ retry: 1, backoffDelay: 'PT5S', retryAfterMax: 'PT1M' }), t.opts);
      expect(t.slept).toEqual([5_000]);
    });

    it('is ignored without retryAfterMax, with PT0S, and on statuses other than 429/503', async () => {
      for (const [status, spec] of [
        [429, { retry: 1, backoffDelay: 'PT0.2S' }],
        [503, { retry: 1, backoffDelay: 'PT0.2S', retryAfterMax: 'PT0S' }],
        [500, { retry: 1, backoffDelay: 'PT0.2S', retryAfterMax: 'PT1M' }],
      ] as const) {
        const { attempt } = scripted([res(status, { 'retry-after': '30' }), 200]);
        const t = fakeTime();
        await deliverWithRetries(attempt, policy(spec), t.opts);
        expect(t.slept).toEqual([200]);
      }
    });
  });

  describe('per-attempt timeout', () => {
    /** Never answers; rejects only when its signal aborts. */
    const hanging: Attempt = (_t, signal) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

    it('aborts a slow attempt through its signal and retries it', async () => {
      const timeouts: (number | undefined)[] = [];
      let n = 0;
      const attempt: Attempt = (timeoutMs, signal) => {
        timeouts.push(timeoutMs);
        return ++n < 3 ? hanging(timeoutMs, signal) : Promise.resolve(res(200));
      };
      const out = await deliverWithRetries(attempt, policy({ retry: 3, timeout: 'PT0.03S' }), fakeTime().opts);
      expect(out).toMatchObject({ ok: true, attempts: 3 });
      expect(timeouts).toEqual([30, 30, 30]);
    });

    it('reports a timeout as ES_ERR_TIMEOUT after the retries run out', async () => {
      const started = Date.now();
      const out = await deliverWithRetries(hanging, policy({ retry: 1, timeout: 'PT0.03S' }), fakeTime().opts);
      expect(out.ok).toBe(false);
      expect(out.attempts).toBe(2);
      expect(out.lastError).toBeInstanceOf(ElasticServingError);
      expect((out.lastError as ElasticServingError).code).toBe('ES_ERR_TIMEOUT');
      expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    });

    it('still times out an attempt that ignores its signal', async () => {
      const deaf: Attempt = () => new Promise(() => {});
      const out = await deliverWithRetries(deaf, policy({ timeout: 'PT0.02S' }), fakeTime().opts);
      expect((out.lastError as ElasticServingError).code).toBe('ES_ERR_TIMEOUT');
    });

    it('passes no timeout and a live signal when none is configured', async () => {
      const { attempt, calls } = scripted([200]);
      await deliverWithRetries(attempt, policy({}));
      expect(calls[0]?.timeoutMs).toBeUndefined();
      expect(calls[0]?.signal.aborted).toBe(false);
    });
  });

  describe('shutdown (outer signal)', () => {
    it('stops waiting between retries and returns an aborted, not-ok outcome', async () => {
      const ac = new AbortController();
      const { attempt, calls } = scripted([500]);
      const out = await deliverWithRetries(attempt, policy({ retry: 5, backoffDelay: 'PT1H' }), {
        signal: ac.signal,
        onRetry: () => setTimeout(() => ac.abort(), 5),
      });
      expect(out).toMatchObject({ ok: false, aborted: true, attempts: 1, lastStatus: 500 });
      expect(calls).toHaveLength(1);
    });

    it('cancels the attempt in flight', async () => {
      const ac = new AbortController();
      const attempt: Attempt = (_t, signal) => {
        setTimeout(() => ac.abort(new Error('SIGTERM')), 5);
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      };
      const out = await deliverWithRetries(attempt, policy({ retry: 5 }), { signal: ac.signal });
      expect(out).toMatchObject({ ok: false, aborted: true, attempts: 1 });
      expect(out.lastError?.message).toBe('SIGTERM');
    });

    it('makes no attempt when already aborted', async () => {
      const { attempt, calls } = scripted([200]);
      const out = await deliverWithRetries(attempt, policy({}), { signal: AbortSignal.abort() });
      expect(out).toMatchObject({ ok: false, aborted: true, attempts: 0 });
      expect(calls).toHaveLength(0);
    });

    it('treats a rejecting sleep as an abort only when the signal is aborted', async () => {
      const ac = new AbortController();
      const { attempt } = scripted([500]);
      const out = await deliverWithRetries(attempt, policy({ retry: 2, backoffDelay: 'PT1S' }), {
        signal: ac.signal,
        sleep: async () => {
          ac.abort();
          throw new Error('aborted');
        },
      });
      expect(out.aborted).toBe(true);
    });
  });
});

describe('abortableSleep', () => {
  it('waits, and resolves early on abort', async () => {
    let t = Date.now();
    await abortableSleep(20);
    expect(Date.now() - t).toBeGreaterThanOrEqual(15);
    const ac = new AbortController();
    t = Date.now();
    setTimeout(() => ac.abort(), 5);
    await abortableSleep(60_000, ac.signal);
    expect(Date.now() - t).toBeLessThan(1_000);
  });
});
