import { Cron } from 'croner';
import { z } from 'zod';
import {
  type DeliverySpec,
  type Destination,
  deliverySchema,
  destination,
  isoDuration,
  nonEmpty,
  objectOf,
  type Strictness,
} from './common.ts';
import { type SecretKeySelector, secretKeySelector } from './secrets.ts';
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

/**
 * Where a credential comes from: a plain value, an environment variable of the process running the source, or a
 * key of a Secret in the source's namespace (Kubernetes `secretKeyRef` shape).
 */
export type CredentialValue = string | { env: string } | { secretKeyRef: SecretKeySelector };

export interface StorageSourceSpec {
  /** A local directory watched for complete files (exclusive with `s3` and `webhook`). */
  directory?: {
    /** Directory path; relative paths are resolved against the working directory of the process. */
    path: string;
    /** Bucket name put on the events. @defaultValue the directory's base name */
    bucket?: string;
    /** A file is announced once its size and mtime held still this long (ISO-8601). @defaultValue PT0.3S */
    stabilityWindow?: string;
  };
  /** An S3-compatible bucket, polled with ListObjectsV2 (exclusive with `directory` and `webhook`). */
  s3?: {
    /** Endpoint URL. @defaultValue env ES_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS */
    endpoint?: string;
    bucket: string;
    /** Only keys under this prefix. @defaultValue all keys */
    prefix?: string;
    /** @defaultValue env AWS_REGION, else us-east-1 */
    region?: string;
    /** Time between two listings (ISO-8601). @defaultValue PT5S */
    pollInterval?: string;
    /** @defaultValue the AWS SDK's default chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...) */
    credentials?: { accessKeyId: CredentialValue; secretAccessKey: CredentialValue; sessionToken?: CredentialValue };
  };
  /** Bucket notifications pushed over HTTP (exclusive with `directory` and `s3`). */
  webhook?: {
    /** Path on the storage webhook server. @defaultValue `/{namespace}/{name}` */
    path?: string;
    /** Bearer token senders must present. @defaultValue none: anyone who can reach the path may post */
    token?: CredentialValue;
    /**
     * How senders write object keys: `url` form-encoded (AWS S3, MinIO), `raw` as stored (Versity S3 Gateway),
     * `auto` form-encoded unless the key cannot be. @defaultValue auto
     */
    keyEncoding?: 'auto' | 'url' | 'raw';
  };
  /** On the very first start, objects already present are announced (`announce`) or only recorded. @defaultValue announce */
  existingObjects?: 'announce' | 'ignore';
  sink: Destination;
  /** Extensions added to every event (Knative SourceSpec). */
  ceOverrides?: { extensions?: Record<string, string> };
  /** Retries of each event towards the sink (no deadLetterSink: undelivered objects are retried later). */
  delivery?: Omit<DeliverySpec, 'deadLetterSink'>;
}

export type StorageSourceResource = Resource<StorageSourceSpec>;

const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function credentialValue(mode: Strictness) {
  return z.union([
    nonEmpty,
    objectOf(mode, { env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') }),
    objectOf(mode, { secretKeyRef: secretKeySelector(mode) }),
  ]);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export function storageSourceSpecSchema(mode: Strictness) {
  const credential = credentialValue(mode);
  return objectOf(mode, {
    directory: objectOf(mode, {
      path: nonEmpty,
      bucket: nonEmpty.optional(),
      stabilityWindow: isoDuration.optional(),
    }).optional(),
    s3: objectOf(mode, {
      endpoint: z.string().refine(isHttpUrl, 'must be an http(s) URL').optional(),
      bucket: z.string().regex(S3_BUCKET, 'must be an S3 bucket name (3-63 of a-z, 0-9, "." and "-")'),
      prefix: z.string().optional(),
      region: nonEmpty.optional(),
      pollInterval: isoDuration.optional(),
      credentials: objectOf(mode, {
        accessKeyId: credential,
        secretAccessKey: credential,
        sessionToken: credential.optional(),
      }).optional(),
    }).optional(),
    webhook: objectOf(mode, {
      path: z
        .string()
        .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must be an absolute path of plain segments, e.g. /minio/events')
        .optional(),
      token: credential.optional(),
      keyEncoding: z.enum(['auto', 'url', 'raw']).optional(),
    }).optional(),
    existingObjects: z.enum(['announce', 'ignore']).optional(),
    sink: destination(mode),
    ceOverrides: objectOf(mode, { extensions: z.record(z.string(), z.string()).optional() }).optional(),
    delivery: deliverySchema(mode).optional(),
  }).superRefine((spec, ctx) => {
    const modes = (['directory', 's3', 'webhook'] as const).filter((m) => spec[m] !== undefined);
    if (modes.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          modes.length === 0 ? 'one of directory, s3 or webhook is required' : `set only one of ${modes.join(', ')}`,
      });
    }
    if (spec.delivery?.deadLetterSink !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['delivery', 'deadLetterSink'],
        message: 'not supported on a StorageSource: an undelivered object is announced again later',
      });
    }
  });
}
