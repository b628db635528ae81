import { describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../errors.ts';
import { backoffMs, DEFAULT_BROKER_DELIVERY, resolveDeliveryPolicy, toResolvedPolicy } from './policy.ts';

describe('resolveDeliveryPolicy', () => {
  it('uses Knative config-br-defaults when neither broker nor trigger has a spec', () => {
    const p = resolveDeliveryPolicy(undefined, undefined);
    expect(p).toMatchObject({ retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 200, from: 'default' });
    expect(p.timeoutMs).toBeUndefined();
    expect(p.retryAfterMaxMs).toBeUndefined();
    expect(p.deadLetterSink).toBeUndefined();
    expect(DEFAULT_BROKER_DELIVERY).toEqual({ retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' });
  });

  it('uses the broker spec when the trigger has none', () => {
    const p = resolveDeliveryPolicy({ retry: 2, backoffPolicy: 'linear', backoffDelay: 'PT1S', timeout: 'PT5S' });
    expect(p).toMatchObject({
      retry: 2,
      backoffPolicy: 'linear',
      backoffDelayMs: 1000,
      timeoutMs: 5000,
      from: 'broker',
    });
  });

  it("replaces the broker's spec wholesale with the trigger's (no field-by-field merge)", () => {
    const broker = {
      retry: 5,
      backoffDelay: 'PT2S',
      timeout: 'PT30S',
      retryAfterMax: 'PT1M',
      deadLetterSink: { uri: 'http://127.0.0.1:9999/dlq' },
    };
    const p = resolveDeliveryPolicy(broker, { retry: 1 });
    expect(p).toEqual({
      retry: 1,
      backoffPolicy: 'exponential',
      backoffDelayMs: 0,
      timeoutMs: undefined,
      retryAfterMaxMs: undefined,
      deadLetterSink: undefined,
      format: undefined,
      from: 'trigger',
    });
  });

  it('treats an empty trigger spec as "no retries", not as "inherit"', () => {
    const p = resolveDeliveryPolicy({ retry: 5 }, {});
    expect(p.retry).toBe(0);
    expect(p.from).toBe('trigger');
  });

  it('treats an empty broker spec as "no retries", not as the platform default', () => {
    expect(resolveDeliveryPolicy({}, undefined).retry).toBe(0);
  });

  it('accepts a custom platform default', () => {
    expect(resolveDeliveryPolicy(undefined, null, { retry: 3 }).retry).toBe(3);
  });

  it('converts every duration to ms', () => {
    const p = toResolvedPolicy({ backoffDelay: 'PT0.5S', timeout: 'PT1M30S', retryAfterMax: 'PT0S' });
    expect([p.backoffDelayMs, p.timeoutMs, p.retryAfterMaxMs]).toEqual([500, 90_000, 0]);
  });

  it('throws a typed error naming the field for a malformed duration', () => {
    expect(() => resolveDeliveryPolicy(undefined, { timeout: '30s' })).toThrow(InvalidResourceError);
    expect(() => resolveDeliveryPolicy(undefined, { timeout: '30s' })).toThrow(
      /trigger spec\.delivery\.timeout.*"30s"/,
    );
  });
});

describe('backoffMs (n counted from 0 at the first retry, as Knative does)', () => {
  const exp = { backoffPolicy: 'exponential', backoffDelayMs: 500 } as const;
  const lin = { backoffPolicy: 'linear', backoffDelayMs: 2500 } as const;

  it('exponential: delay × 2^n', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs(exp, n))).toEqual([500, 1000, 2000, 4000, 8000, 16000]);
  });

  it('linear: delay × n', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs(lin, n))).toEqual([0, 2500, 5000, 7500, 10000, 12500]);
  });

  it('no delay configured means no wait', () => {
    expect(backoffMs({ backoffPolicy: 'exponential', backoffDelayMs: 0 }, 7)).toBe(0);
  });

  it('never overflows on huge retry counts', () => {
    expect(backoffMs(exp, 5000)).toBe(Number.MAX_SAFE_INTEGER);
  });
});
