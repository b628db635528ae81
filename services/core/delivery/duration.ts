import { type Duration, parse } from 'tinyduration';
import { InvalidResourceError } from '../errors.ts';

const MS_PER_SECOND = 1_000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;
const MS_PER_DAY = 24 * MS_PER_HOUR;
/**
 * Calendar units have no fixed length; like Knative's period library we assume 24-hour days and the Gregorian
 * average year (365.2425 days), a month being a twelfth of that. Delivery durations are almost always PTnS.
 */
const MS_PER_YEAR = 365.2425 * MS_PER_DAY;
const MS_PER_MONTH = MS_PER_YEAR / 12;

type Unit = Exclude<keyof Duration, 'negative'>;

const UNIT_MS: ReadonlyArray<readonly [Unit, number]> = [
  ['years', MS_PER_YEAR],
  ['months', MS_PER_MONTH],
  ['weeks', 7 * MS_PER_DAY],
  ['days', MS_PER_DAY],
  ['hours', MS_PER_HOUR],
  ['minutes', MS_PER_MINUTE],
  ['seconds', MS_PER_SECOND],
];

const EXAMPLES = 'e.g. PT0.2S, PT30S, PT1M30S, P1D';

/**
 * Parses an ISO-8601 duration (`PT0.2S`, `PT1M30S`, `P1D`, `P1W`, …) to whole milliseconds (rounded).
 *
 * Negative durations (`-PT1S`, `PT-1S`) and surrounding whitespace are refused: every delivery duration is a
 * delay or a limit. Throws `InvalidResourceError` whose message names `field` and the bad value.
 *
 * @param value - the duration text as written in the resource
 * @param field - the field path used in the error message, e.g. `spec.delivery.backoffDelay`
 */
export function parseDurationMs(value: string, field = 'duration'): number {
  const problem = durationProblem(value);
  if (problem !== undefined) {
    const message = `${field}: ${problem}`;
    throw new InvalidResourceError(message, [{ path: field, message: problem }]);
  }
  return toMs(parse(value));
}

/** Like {@link parseDurationMs} but returns `undefined` instead of throwing. */
export function tryParseDurationMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || durationProblem(value) !== undefined) return undefined;
  return toMs(parse(value));
}

/** Why `value` is not an acceptable duration, or `undefined` when it is. */
export function durationProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `expected an ISO-8601 duration string (${EXAMPLES}), got ${describe(value)}`;
  const bad = `${JSON.stringify(value)} is not an ISO-8601 duration (${EXAMPLES})`;
  // tinyduration tolerates trailing spaces; a resource value with them is almost certainly a typo.
  if (value.trim() !== value || value === '') return bad;
  let parsed: Duration;
  try {
    parsed = parse(value);
  } catch {
    return bad;
  }
  if (parsed.negative === true || UNIT_MS.some(([unit]) => (parsed[unit] ?? 0) < 0)) {
    return `${JSON.stringify(value)} is negative; durations here must be zero or more`;
  }
  const ms = toMs(parsed);
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) return `${JSON.stringify(value)} is too large`;
  return undefined;
}

function toMs(d: Duration): number {
  let total = 0;
  for (const [unit, ms] of UNIT_MS) total += (d[unit] ?? 0) * ms;
  return Math.round(total);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
