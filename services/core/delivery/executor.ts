import { ElasticServingError } from '../errors.ts';
import { backoffMs, type ResolvedDeliveryPolicy } from './policy.ts';
import { honouredRetryAfterMs, isRetryableStatus, isSuccess, type ResponseHeaders } from './retryable.ts';

export { isSuccess } from './retryable.ts';

/** What one attempt got back: the status, headers and the whole body (already read). */
export interface AttemptResult {
  status: number;
  headers: ResponseHeaders;
  body: Buffer;
}

/**
 * One delivery attempt over any transport. It must honour `signal` (per-attempt timeout and shutdown) and
 * reject on a network error or abort; it resolves with any HTTP status, success or not. To turn a 2xx into a
 * failed, retried attempt (e.g. a reply that could not be stored), reject.
 *
 * @param timeoutMs - the per-attempt timeout, for transports that also want it (e.g. undici's bodyTimeout)
 * @param signal - aborted when the attempt times out or the delivery is shut down
 */
export type Attempt = (timeoutMs: number | undefined, signal: AbortSignal) => Promise<AttemptResult>;

/** How a delivery ended. */
export interface DeliveryOutcome {
  /** A 2xx was received. */
  ok: boolean;
  /** The last attempt's response (absent when it ended in a network error or timeout). */
  result?: AttemptResult;
  /** Attempts made (the first one plus retries). */
  attempts: number;
  /** The last attempt's status (absent when it ended in a network error or timeout). */
  lastStatus?: number;
  /** The last attempt's error (network error, timeout or abort). */
  lastError?: Error;
  /**
   * The delivery was stopped by `signal` (shutdown) rather than finished: do not dead-letter it; leave the
   * event unacknowledged so it is redelivered.
   */
  aborted?: boolean;
}

/** Options of {@link deliverWithRetries}. */
export interface DeliverOptions {
  /**
   * Aborting it (shutdown) cancels the attempt in flight and any backoff wait; the outcome is `aborted`.
   * @defaultValue never aborted
   */
  signal?: AbortSignal;
  /**
   * Waits `ms`; must resolve (or reject) promptly when `signal` aborts. Inject a fake in tests.
   * @defaultValue {@link abortableSleep}
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Clock in ms since the epoch, used for HTTP-date `Retry-After` values.
   * @defaultValue Date.now
   */
  now?: () => number;
  /**
   * Called after each attempt with its 1-based number and its result or error (for logs and metrics).
   * @defaultValue none
   */
  onAttempt?: (n: number, r: AttemptResult | Error) => void;
  /**
   * Called before each backoff wait with the number of the attempt that follows and the wait in ms.
   * @defaultValue none
   */
  onRetry?: (nextAttempt: number, delayMs: number) => void;
}

/**
 * Delivers with Knative's retry semantics: up to `policy.retry` retries after the first attempt; a 2xx ends
 * it successfully; a non-retryable status (see `isRetryableStatus`) ends it at once; network errors and
 * per-attempt timeouts are retried. Before retry k (1-based) it waits `backoffMs(policy, k - 1)`, or the
 * honoured `Retry-After` of a 429/503 when that is longer. Never throws for delivery failures; the caller
 * dead-letters a not-ok, not-aborted outcome (using the same policy for the dead-letter sink, as Knative).
 */
export async function deliverWithRetries(
  attempt: Attempt,
  policy: ResolvedDeliveryPolicy,
  opts: DeliverOptions = {},
): Promise<DeliveryOutcome> {
  const { signal, sleep = abortableSleep, now = Date.now, onAttempt, onRetry } = opts;
  const maxAttempts = policy.retry + 1;
  let outcome: DeliveryOutcome = { ok: false, attempts: 0 };
  for (let n = 1; ; n++) {
    if (signal?.aborted) return abortedOutcome(outcome, signal);
    const r = await runAttempt(attempt, policy.timeoutMs, signal);
    outcome =
      r instanceof Error
        ? { ok: false, attempts: n, lastError: r }
        : { ok: isSuccess(r.status), attempts: n, result: r, lastStatus: r.status };
    onAttempt?.(n, r);
    if (outcome.ok) return outcome;
    if (r instanceof Error ? signal?.aborted : !isRetryableStatus(r.status)) break;
    if (n >= maxAttempts) break;

    const retryAfter = r instanceof Error ? undefined : honouredRetryAfterMs(r.status, r.headers, policy, now());
    const delay = Math.max(backoffMs(policy, n - 1), retryAfter ?? 0);
    onRetry?.(n + 1, delay);
    if (delay > 0) {
      try {
        await sleep(delay, signal);
      } catch (err) {
        if (!signal?.aborted) throw err;
      }
    }
  }
  return signal?.aborted ? abortedOutcome(outcome, signal) : outcome;
}

function abortedOutcome(outcome: DeliveryOutcome, signal: AbortSignal): DeliveryOutcome {
  const reason = signal.reason instanceof Error ? signal.reason : undefined;
  return {
    ...outcome,
    ok: false,
    aborted: true,
    lastError:
      outcome.lastError ?? new ElasticServingError('ES_ERR_SHUTTING_DOWN', 'delivery aborted', { cause: reason }),
  };
}

/**
 * Runs one attempt under its own signal, aborted by the per-attempt timeout or the outer signal. The timer is
 * cleared as soon as the attempt settles (rather than left to `AbortSignal.timeout`, whose timers would pile
 * up at thousands of events per second), and the attempt is raced against the signal so a transport that
 * ignores it still cannot hold the delivery past its timeout.
 */
async function runAttempt(
  attempt: Attempt,
  timeoutMs: number | undefined,
  outer: AbortSignal | undefined,
): Promise<AttemptResult | Error> {
  // Fast path (no per-attempt timeout): the outer signal is all there is to honour, so no controller, listeners or
  // race per attempt; these showed as ~5% of the router's CPU at thousands of deliveries per second.
  if (timeoutMs === undefined) {
    try {
      return await attempt(undefined, outer ?? NEVER_ABORTED);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }
  const controller = new AbortController();
  const signal = controller.signal;
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort(new ElasticServingError('ES_ERR_TIMEOUT', `attempt timed out after ${timeoutMs} ms`));
        }, timeoutMs);
  const onOuterAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  let onAbort: (() => void) | undefined;
  try {
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const pending = Promise.resolve().then(() => attempt(timeoutMs, signal));
    pending.catch(() => {}); // a rejection after losing the race is expected; don't report it as unhandled
    return await Promise.race([pending, aborted]);
  } catch (err) {
    if (timedOut && !outer?.aborted) {
      return new ElasticServingError('ES_ERR_TIMEOUT', `attempt timed out after ${timeoutMs} ms`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

const NEVER_ABORTED = new AbortController().signal;

/** setTimeout's longest delay; longer waits are chained so they don't fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** Sleeps `ms`, resolving early (not rejecting) when `signal` aborts. Handles waits beyond ~24.8 days. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const arm = (left: number) => {
      timer = setTimeout(() => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : done()), Math.min(left, MAX_TIMER_MS));
    };
    signal?.addEventListener('abort', done, { once: true });
    arm(ms);
  });
}
