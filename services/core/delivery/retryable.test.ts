import { describe, expect, it } from 'vitest';
import {
  headerValue,
  honouredRetryAfterMs,
  isRetryableStatus,
  isSuccess,
  parseHttpDate,
  parseRetryAfter,
} from './retryable.ts';

describe('isRetryableStatus (Knative SelectiveRetry table)', () => {
  it.each([404, 408, 409, 429, 500, 501, 502, 503, 504, 599])('retries %d', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });
  it.each([100, 200, 202, 204, 300, 301, 302, 400, 401, 403, 405, 410, 413, 415, 422, 451])(
    'never retries %d',
    (status) => {
      expect(isRetryableStatus(status)).toBe(false);
    },
  );
});

describe('isSuccess', () => {
  it('is exactly 2xx', () => {
    expect([199, 200, 202, 204, 299, 300].map(isSuccess)).toEqual([false, true, true, true, true, false]);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2024, 0, 1, 12, 0, 0);

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 7 ', now)).toBe(7_000);
    expect(parseRetryAfter(['3', '9'], now)).toBe(3_000);
  });

  it('reads the three HTTP-date formats as UTC', () => {
    expect(parseRetryAfter('Mon, 01 Jan 2024 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Monday, 01-Jan-24 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Mon Jan  1 12:00:05 2024', now)).toBe(5_000);
  });

  it('gives 0 for a date in the past', () => {
    expect(parseRetryAfter('Sun, 31 Dec 2023 12:00:00 GMT', now)).toBe(0);
  });

  it.each([
    undefined,
    '',
    '-5',
    '1.5',
    '+3',
    'soon',
    '2024-01-01T12:00:30Z',
    'Mon, 01 Jan 2024 12:00:30 PST',
    'Fri, 31 Feb 2024 00:00:00 GMT',
  ])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('reads RFC 850 two-digit years as Go does', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate('Sunday, 06-Nov-30 08:49:37 GMT')).toBe(Date.UTC(2030, 10, 6, 8, 49, 37));
  });
});

describe('honouredRetryAfterMs', () => {
  const now = 1_000_000;
  const h = { 'Retry-After': '30' };

  it('is ignored when retryAfterMax is unset (Knative opt-in)', () => {
    expect(honouredRetryAfterMs(429, h, { retryAfterMaxMs: undefined }, now)).toBeUndefined();
  });

  it('applies to 429 and 503 only', () => {
    const policy = { retryAfterMaxMs: 60_000 };
    expect(honouredRetryAfterMs(429, h, policy, now)).toBe(30_000);
    expect(honouredRetryAfterMs(503, h, policy, now)).toBe(30_000);
    expect(honouredRetryAfterMs(500, h, policy, now)).toBeUndefined();
    expect(honouredRetryAfterMs(502, h, policy, now)).toBeUndefined();
  });

  it('is capped by retryAfterMax, and PT0S disables it', () => {
    expect(honouredRetryAfterMs(503, h, { retryAfterMaxMs: 5_000 }, now)).toBe(5_000);
    expect(honouredRetryAfterMs(503, h, { retryAfterMaxMs: 0 }, now)).toBe(0);
  });

  it('finds the header in any case', () => {
    expect(headerValue({ 'retry-after': '1' }, 'Retry-After')).toBe('1');
    expect(headerValue({ 'RETRY-AFTER': ['2'] }, 'retry-after')).toBe('2');
    expect(headerValue({}, 'retry-after')).toBeUndefined();
  });
});
