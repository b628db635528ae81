import { describe, expect, it } from 'vitest';
import { validateDeliverySpec } from './validate.ts';

const paths = (spec: unknown, path?: string) => validateDeliverySpec(spec, path).map((i) => i.path);

describe('validateDeliverySpec', () => {
  it('accepts absent specs and a full valid spec', () => {
    expect(validateDeliverySpec(undefined)).toEqual([]);
    expect(validateDeliverySpec(null)).toEqual([]);
    expect(
      validateDeliverySpec({
        retry: 5,
        backoffPolicy: 'exponential',
        backoffDelay: 'PT0.2S',
        timeout: 'PT30S',
        retryAfterMax: 'PT0S',
        format: 'json',
        deadLetterSink: { uri: 'http://localhost:9999/dlq' },
      }),
    ).toEqual([]);
    expect(validateDeliverySpec({ deadLetterSink: { ref: { kind: 'Function', name: 'dlq' }, uri: '/extra' } })).toEqual(
      [],
    );
  });

  it('refuses a non-object spec', () => {
    expect(validateDeliverySpec('retry: 3', 'spec.delivery')).toEqual([
      { path: 'spec.delivery', message: 'expected an object' },
    ]);
  });

  it.each([-1, 1.5, '3', 2_147_483_648])('refuses retry %j', (retry) => {
    expect(paths({ retry })).toEqual(['spec.delivery.retry']);
  });

  it('refuses an unknown backoff policy, naming it', () => {
    const [issue] = validateDeliverySpec({ backoffPolicy: 'constant' });
    expect(issue).toEqual({
      path: 'spec.delivery.backoffPolicy',
      message: 'expected "linear" or "exponential", got "constant"',
    });
  });

  it('refuses malformed and negative durations, naming the value', () => {
    const issues = validateDeliverySpec({ backoffDelay: '200ms', timeout: 'PT-1S', retryAfterMax: 30 }, 'spec.x');
    expect(issues.map((i) => i.path)).toEqual(['spec.x.backoffDelay', 'spec.x.timeout', 'spec.x.retryAfterMax']);
    expect(issues[0]?.message).toContain('"200ms"');
    expect(issues[1]?.message).toMatch(/negative/);
  });

  it('refuses a zero timeout (Knative: must be greater than 0) but allows retryAfterMax PT0S', () => {
    expect(paths({ timeout: 'PT0S' })).toEqual(['spec.delivery.timeout']);
    expect(paths({ retryAfterMax: 'PT0S' })).toEqual([]);
  });

  it('reports unknown fields at every level', () => {
    expect(paths({ retries: 3, deadLetterSink: { url: 'x', ref: { kind: 'K', name: 'n', nmespace: 'a' } } })).toEqual([
      'spec.delivery.retries',
      'spec.delivery.deadLetterSink.url',
      'spec.delivery.deadLetterSink.ref.nmespace',
    ]);
  });

  describe('deadLetterSink', () => {
    it('needs a ref or a uri', () => {
      expect(validateDeliverySpec({ deadLetterSink: {} })).toEqual([
        { path: 'spec.delivery.deadLetterSink', message: 'expected "ref" or "uri", got neither' },
      ]);
    });

    it('needs an absolute http(s) uri when there is no ref', () => {
      expect(paths({ deadLetterSink: { uri: '/dlq' } })).toEqual(['spec.delivery.deadLetterSink.uri']);
      expect(paths({ deadLetterSink: { uri: 'ftp://host/dlq' } })).toEqual(['spec.delivery.deadLetterSink.uri']);
      expect(paths({ deadLetterSink: { uri: 'https://host/dlq' } })).toEqual([]);
    });

    it('refuses an absolute uri next to a ref', () => {
      expect(paths({ deadLetterSink: { uri: 'http://h/x', ref: { kind: 'Function', name: 'f' } } })).toEqual([
        'spec.delivery.deadLetterSink.uri',
      ]);
    });

    it('needs kind and name on a ref', () => {
      expect(validateDeliverySpec({ deadLetterSink: { ref: { name: '' } } })).toEqual([
        { path: 'spec.delivery.deadLetterSink.ref.kind', message: 'required' },
        { path: 'spec.delivery.deadLetterSink.ref.name', message: 'expected a non-empty string' },
      ]);
    });
  });
});
