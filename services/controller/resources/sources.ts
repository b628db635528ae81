import { Cron } from 'croner';
import { z } from 'zod';
import { type Destination, destination, nonEmpty, objectOf, type Strictness } from './common.ts';
import type { Resource } from './types.ts';

export interface PingSourceSpec {
  /** Cron expression: 5 fields, or 6 with seconds first; a `CRON_TZ=<zone> ` prefix is accepted. */
  schedule: string;
  /** IANA time zone the schedule is read in. @defaultValue UTC */
  timezone?: string;
  /** Event data as text; exclusive with `dataBase64`. */
  data?: string;
  /** Event data as base64 bytes; exclusive with `data`. */
  dataBase64?: string;
  /** `datacontenttype` of the emitted events. */
  contentType?: string;
  sink: Destination;
  /** Extensions added to every event (Knative SourceSpec). */
  ceOverrides?: { extensions?: Record<string, string> };
}

export type PingSourceResource = Resource<PingSourceSpec>;

const TZ_PREFIX = /^(CRON_TZ|TZ)=(\S+)\s+/;

/** Splits an optional `CRON_TZ=` prefix off a schedule (robfig/cron syntax, which Knative accepts). */
export function splitSchedule(schedule: string): { pattern: string; timezone?: string } {
  const match = TZ_PREFIX.exec(schedule);
  if (match === null) return { pattern: schedule.trim() };
  return { pattern: schedule.slice(match[0].length).trim(), timezone: match[2]! };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function scheduleError(schedule: string): string | undefined {
  const { pattern, timezone } = splitSchedule(schedule);
  if (timezone !== undefined && !isTimeZone(timezone)) return `unknown time zone ${JSON.stringify(timezone)}`;
  const fields = pattern.split(/\s+/).length;
  if (!pattern.startsWith('@') && fields !== 5 && fields !== 6) {
    return 'must be a cron expression of 5 fields (or 6, seconds first)';
  }
  try {
    new Cron(pattern, { paused: true }).stop();
    return undefined;
  } catch (err) {
    return `invalid cron expression: ${(err as Error).message}`;
  }
}

export function pingSourceSpecSchema(mode: Strictness) {
  return objectOf(mode, {
    schedule: nonEmpty,
    timezone: z.string().optional(),
    data: z.string().optional(),
    dataBase64: z.string().optional(),
    contentType: z.string().optional(),
    sink: destination(mode),
    ceOverrides: objectOf(mode, { extensions: z.record(z.string(), z.string()).optional() }).optional(),
  }).superRefine((spec, ctx) => {
    const bad = scheduleError(spec.schedule);
    if (bad !== undefined) ctx.addIssue({ code: 'custom', path: ['schedule'], message: bad });
    if (spec.timezone !== undefined && !isTimeZone(spec.timezone)) {
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: `unknown time zone ${JSON.stringify(spec.timezone)}`,
      });
    }
    if (spec.data !== undefined && spec.dataBase64 !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['dataBase64'], message: 'data and dataBase64 are mutually exclusive' });
    }
    if (spec.dataBase64 !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(spec.dataBase64.replace(/\s/g, ''))) {
      ctx.addIssue({ code: 'custom', path: ['dataBase64'], message: 'must be base64' });
    }
  });
}
