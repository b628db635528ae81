import { Cron } from 'croner';
import { InvalidResourceError } from '../../core/errors.ts';

/**
 * PingSource schedules: standard 5-field cron (Knative uses robfig/cron's standard parser), plus a leading
 * seconds field (6 fields) and croner's extras (`L`, `W`, `#`, nicknames such as `@hourly`). A robfig-style
 * `CRON_TZ=<zone> ` (or `TZ=<zone> `) prefix names the zone, like Knative, which turns `spec.timezone` into
 * exactly that prefix.
 */

/** A schedule that parsed, with the zone it is read in. */
export interface ParsedSchedule {
  /** The cron expression without any `CRON_TZ=` prefix, as croner reads it. */
  pattern: string;
  /** 5 or 6 (6 = seconds first); nicknames count as 5. */
  fields: 5 | 6;
  /** IANA zone the expression is read in. */
  timezone: string;
}

/** Knative's default schedule when `spec.schedule` is empty. */
export const DEFAULT_SCHEDULE = '* * * * *';
/** Zone used when neither `spec.timezone` nor a prefix names one (the zone of a typical adapter pod). */
export const DEFAULT_TIMEZONE = 'UTC';

const TZ_PREFIX = /^(?:CRON_TZ|TZ)=(\S*)(?:\s+|$)/;
const FIELD_NAMES = ['second', 'minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
const FIELD_HINTS: Record<(typeof FIELD_NAMES)[number], string> = {
  second: '0-59',
  minute: '0-59',
  hour: '0-23',
  'day-of-month': '1-31, L or nW',
  month: '1-12 or JAN-DEC',
  'day-of-week': '0-7 or SUN-SAT, n#k or nL',
};

/** A problem with a schedule; `field` is `schedule` or `timezone` (the spec field to blame). */
export interface ScheduleProblem {
  field: 'schedule' | 'timezone';
  message: string;
}

/** Splits a `CRON_TZ=Zone ` / `TZ=Zone ` prefix off a schedule. */
export function splitTimezonePrefix(schedule: string): { pattern: string; timezone?: string } {
  const trimmed = schedule.trim();
  const match = TZ_PREFIX.exec(trimmed);
  if (match === null) return { pattern: trimmed };
  return { pattern: trimmed.slice(match[0].length).trim(), timezone: match[1] ?? '' };
}

/** Whether `zone` is an IANA zone name this runtime knows. */
export function isValidTimezone(zone: string): boolean {
  if (zone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses a schedule without throwing: either the parsed schedule or the problem, blaming the spec field
 * (`timezone` for a bad zone given in `spec.timezone`, else `schedule`) and, for a bad cron field, naming it.
 *
 * @param schedule - `spec.schedule`; empty means {@link DEFAULT_SCHEDULE}, as Knative defaults it
 * @param timezone - `spec.timezone`; must agree with a `CRON_TZ=` prefix when both are given
 */
export function checkSchedule(
  schedule: string,
  timezone?: string,
): { ok: true; schedule: ParsedSchedule } | { ok: false; problem: ScheduleProblem } {
  const fail = (field: ScheduleProblem['field'], message: string) => ({
    ok: false as const,
    problem: { field, message },
  });
  const split = splitTimezonePrefix(schedule === '' ? DEFAULT_SCHEDULE : schedule);
  if (timezone !== undefined && timezone !== '' && !isValidTimezone(timezone)) {
    return fail(
      'timezone',
      `unknown time zone ${JSON.stringify(timezone)} (expected an IANA name such as "Europe/Paris")`,
    );
  }
  if (split.timezone !== undefined) {
    if (!isValidTimezone(split.timezone)) {
      return fail('schedule', `unknown time zone ${JSON.stringify(split.timezone)} in the CRON_TZ= prefix`);
    }
    if (timezone && timezone !== split.timezone) {
      return fail('schedule', `CRON_TZ=${split.timezone} prefix conflicts with timezone ${JSON.stringify(timezone)}`);
    }
  }
  const pattern = split.pattern;
  if (pattern === '') return fail('schedule', 'empty cron expression after the CRON_TZ= prefix');
  if (pattern.startsWith('@every')) return fail('schedule', 'unsupported descriptor @every (use a cron expression)');
  const zone = split.timezone ?? (timezone || DEFAULT_TIMEZONE);
  const parts = pattern.split(/\s+/);
  if (!pattern.startsWith('@') && parts.length !== 5 && parts.length !== 6) {
    return fail(
      'schedule',
      `expected 5 fields (or 6 with seconds first), got ${parts.length} in ${JSON.stringify(pattern)}`,
    );
  }
  const whole = tryCron(pattern, zone);
  if (whole === undefined) {
    return { ok: true, schedule: { pattern, fields: parts.length === 6 ? 6 : 5, timezone: zone } };
  }
  return fail(
    'schedule',
    pattern.startsWith('@') ? `unknown descriptor ${JSON.stringify(pattern)}` : blameField(parts, whole),
  );
}

/** Parses a schedule, throwing an `InvalidResourceError` (ES_ERR_INVALID_RESOURCE) that names the bad field. */
export function parseSchedule(schedule: string, timezone?: string): ParsedSchedule {
  const result = checkSchedule(schedule, timezone);
  if (result.ok) return result.schedule;
  const message = `${result.problem.field}: ${result.problem.message}`;
  throw new InvalidResourceError(message, [{ path: `spec.${result.problem.field}`, message: result.problem.message }]);
}

/**
 * The next `n` fire times strictly after `from`.
 *
 * @param schedule - cron expression, optionally `CRON_TZ=`-prefixed
 * @param tz - IANA zone (`undefined` or empty = the prefix's zone, else {@link DEFAULT_TIMEZONE})
 * @param from - start instant (exclusive) @defaultValue now
 * @param n - how many @defaultValue 1
 */
export function nextRuns(schedule: string, tz?: string, from: Date = new Date(), n = 1): Date[] {
  const parsed = parseSchedule(schedule, tz);
  const job = new Cron(parsed.pattern, cronOptions(parsed.timezone, true));
  try {
    return job.nextRuns(n, from);
  } finally {
    job.stop();
  }
}

/** croner options every PingSource job uses (5 or 6 fields; day-of-month OR day-of-week, like Vixie cron). */
export function cronOptions(
  timezone: string,
  paused: boolean,
): { timezone: string; mode: '5-or-6-parts'; paused: boolean } {
  return { timezone, mode: '5-or-6-parts', paused };
}

/** croner's message when the pattern is rejected, else `undefined`. */
function tryCron(pattern: string, timezone: string): string | undefined {
  try {
    new Cron(pattern, cronOptions(timezone, true)).stop();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Finds the first field croner rejects on its own (every other field `*`), so the message names it; croner's
 * own messages count day and month from 0, so the allowed range is spelled out instead.
 */
function blameField(parts: string[], cronMessage: string): string {
  const names = parts.length === 6 ? FIELD_NAMES : FIELD_NAMES.slice(1);
  for (let i = 0; i < parts.length; i++) {
    const probe = parts.map((p, j) => (j === i ? p : '*')).join(' ');
    if (tryCron(probe, 'UTC') !== undefined) {
      const name = names[i]!;
      return `invalid ${name} field ${JSON.stringify(parts[i])} (allowed: ${FIELD_HINTS[name]}, with * , - /)`;
    }
  }
  return `invalid cron expression ${JSON.stringify(parts.join(' '))}: ${cronMessage.replace(/^CronPattern:\s*/, '')}`;
}
