import type { ResolvedDeliveryPolicy } from './policy.ts';

/** Response headers as Node and undici give them (names may be any case). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** A delivery succeeded: any 2xx. Everything else (1xx, 3xx, 4xx, 5xx) is a failed attempt, as in Knative. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

/**
 * Knative's `SelectiveRetry` table: retry 5xx, 404 (a pod may still be becoming ready), 408, 409 and 429;
 * never 1xx, 2xx, 3xx or any other 4xx. Network errors and timeouts (no status) are always retried by the
 * executor.
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/** The first value of a header, looked up case-insensitively. */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== lower) continue;
    const value = headers[key];
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date in any of the three formats
 * HTTP allows (IMF-fixdate, RFC 850, asctime). Returns the wait in ms from `now` (a date in the past gives 0),
 * or `undefined` when the header is absent or malformed (which Knative treats as "no Retry-After").
 *
 * @param value - the header value; with several values, the first counts
 * @param now - the current time in ms since the epoch
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, Number.MAX_SAFE_INTEGER);
  const at = parseHttpDate(text);
  return at === undefined ? undefined : Math.max(0, at - now);
}

/**
 * The `Retry-After` wait the policy honours for this response, in ms, or `undefined` when none applies.
 *
 * As in Knative (feature `delivery-retryafter`, opt-in while it is not GA): only 429 and 503 responses count,
 * and only when `retryAfterMax` is set; the value is capped by it, so `PT0S` disables it. The executor then
 * waits the LONGER of this and the normal backoff.
 */
export function honouredRetryAfterMs(
  status: number,
  headers: ResponseHeaders,
  policy: Pick<ResolvedDeliveryPolicy, 'retryAfterMaxMs'>,
  now: number,
): number | undefined {
  if (policy.retryAfterMaxMs === undefined || (status !== 429 && status !== 503)) return undefined;
  const wait = parseRetryAfter(headerValue(headers, 'retry-after'), now);
  return wait === undefined ? undefined : Math.min(wait, policy.retryAfterMaxMs);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const IMF_FIXDATE = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 = /^[A-Za-z]{6,9}, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^[A-Za-z]{3} ([A-Za-z]{3}) ( \d|\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * Strict HTTP-date parser. `Date.parse` is not used because it reads the zone-less asctime form as local
 * time and accepts many non-HTTP formats.
 */
export function parseHttpDate(text: string): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(m[3], m[2], m[1], m[4], m[5], m[6]);
  m = RFC850.exec(text);
  if (m) {
    // Two-digit years as Go's time package (used by Knative) reads them: 69–99 → 19xx, 00–68 → 20xx.
    const yy = Number(m[3]);
    return utc(String(yy >= 69 ? 1900 + yy : 2000 + yy), m[2], m[1], m[4], m[5], m[6]);
  }
  m = ASCTIME.exec(text);
  if (m) return utc(m[6], m[1], m[2], m[3], m[4], m[5]);
  return undefined;
}

function utc(...parts: (string | undefined)[]): number | undefined {
  const [year, mon, day, hh, mm, ss] = parts;
  const month = MONTHS.indexOf((mon ?? '').toLowerCase());
  const [y, d, h, mi, s] = [year, day, hh, mm, ss].map((p) => Number((p ?? '').trim()));
  if (month < 0 || y === undefined || d === undefined || h === undefined || mi === undefined || s === undefined) {
    return undefined;
  }
  if (d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Date.UTC(y, month, d, h, mi, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; refuse such dates instead.
  return new Date(ms).getUTCDate() === d ? ms : undefined;
}
