import { describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../errors.ts';
import { durationProblem, parseDurationMs, tryParseDurationMs } from './duration.ts';

describe('parseDurationMs', () => {
  it.each([
    ['PT0.2S', 200],
    ['PT0.5S', 500],
    ['PT2.5S', 2_500],
    ['PT30S', 30_000],
    ['PT1M30S', 90_000],
    ['PT1.5M', 90_000],
    ['PT1H', 3_600_000],
    ['P1D', 86_400_000],
    ['P1DT0.5H', 88_200_000],
    ['P1W', 604_800_000],
    ['PT0S', 0],
    ['P0D', 0],
    ['PT0.0001S', 0],
    ['PT1,5S', 1_500],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it('uses the Gregorian average year for calendar units', () => {
    expect(parseDurationMs('P1Y')).toBe(Math.round(365.2425 * 86_400_000));
    expect(parseDurationMs('P12M')).toBe(parseDurationMs('P1Y'));
  });

  it.each(['', 'P', 'PT', '1S', 'pt1s', '30s', 'PT10S ', ' PT1S', 'PTS', 'soon'])(
    'refuses %j naming the value',
    (text) => {
      let thrown: unknown;
      try {
        parseDurationMs(text, 'spec.delivery.backoffDelay');
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(InvalidResourceError);
      const err = thrown as InvalidResourceError;
      expect(err.message).toContain('spec.delivery.backoffDelay');
      expect(err.message).toContain(JSON.stringify(text));
      expect(err.issues[0]?.path).toBe('spec.delivery.backoffDelay');
    },
  );

  it.each(['-PT1S', 'PT-1S', 'P-1D'])('refuses the negative duration %s', (text) => {
    expect(() => parseDurationMs(text)).toThrow(/negative/);
  });

  it('refuses non-strings with a clear message', () => {
    expect(durationProblem(5)).toMatch(/got number 5/);
    expect(durationProblem(null)).toMatch(/got null/);
  });

  it('tryParseDurationMs returns undefined instead of throwing', () => {
    expect(tryParseDurationMs('PT1S')).toBe(1_000);
    expect(tryParseDurationMs('nope')).toBeUndefined();
    expect(tryParseDurationMs(undefined)).toBeUndefined();
  });
});
