import { ElasticServingError } from '../../../core/errors.ts';
import { bareEtag } from '../events.ts';
import type { ObjectChange } from '../types.ts';

/** A payload the webhook refuses (400); the message says what is wrong and where. */
export class BadNotificationError extends ElasticServingError {
  constructor(message: string) {
    super('ES_ERR_BAD_REQUEST', message);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What an S3 event name means for us. AWS writes `ObjectCreated:Put`, MinIO `s3:ObjectCreated:Put`; every
 * `ObjectCreated:*` is a write, every `ObjectRemoved:*` and lifecycle expiration a removal. Anything else
 * (`ObjectAccessed:*`, `ObjectRestore:*`, replication, tagging...) is not an object change and is skipped.
 */
export function s3ChangeKind(eventName: string): 'created' | 'deleted' | undefined {
  const name = eventName.startsWith('s3:') ? eventName.slice(3) : eventName;
  if (name.startsWith('ObjectCreated:')) return 'created';
  if (name.startsWith('ObjectRemoved:') || name.startsWith('LifecycleExpiration:')) return 'deleted';
  return undefined;
}

/**
 * How notification keys are written: `url` = form-encoded (AWS S3 and MinIO: `+` for a space, `%2F`, `%2B`),
 * `raw` = as stored (Versity S3 Gateway), `auto` = form-encoded unless the key cannot be (it holds a character
 * form encoding always escapes, such as a space, or a `%` not followed by two hex digits). `auto` reads an
 * ambiguous raw key with a `+` as a space: set `raw` for servers that send raw keys.
 */
export type KeyEncoding = 'auto' | 'url' | 'raw';

const FORM_ENCODED = /^(?:[A-Za-z0-9\-_.~*!'()/+]|%[0-9A-Fa-f]{2})*$/;

/**
 * Decodes an S3 notification key per `encoding`. Throws a 400 naming `field` when a key that must be
 * form-encoded (`url`) is not.
 */
export function decodeS3Key(raw: string, field: string, encoding: KeyEncoding = 'auto'): string {
  if (encoding === 'raw' || (encoding === 'auto' && !FORM_ENCODED.test(raw))) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new BadNotificationError(`${field}: malformed percent-encoding in ${JSON.stringify(raw)}`);
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * One `Records[]` entry (AWS S3 event message structure 2.x, MinIO's notification format) as a change, or
 * `undefined` for an event that is not an object change. `kindOverride` comes from a CloudEvent type that
 * already says it (`com.amazonaws.s3.ObjectCreated:Put`).
 */
export function fromS3Record(
  record: unknown,
  at: string,
  encoding: KeyEncoding,
  kindOverride?: string,
): ObjectChange | undefined {
  if (!isRecord(record)) throw new BadNotificationError(`${at}: expected an object`);
  const eventName = kindOverride ?? str(record.eventName);
  if (eventName === undefined) throw new BadNotificationError(`${at}.eventName: required`);
  const kind = s3ChangeKind(eventName);
  if (kind === undefined) return undefined;
  const s3 = record.s3;
  if (!isRecord(s3)) throw new BadNotificationError(`${at}.s3: required`);
  const bucket = isRecord(s3.bucket) ? str(s3.bucket.name) : undefined;
  if (bucket === undefined) throw new BadNotificationError(`${at}.s3.bucket.name: required`);
  const object = s3.object;
  const rawKey = isRecord(object) ? str(object.key) : undefined;
  if (!isRecord(object) || rawKey === undefined) throw new BadNotificationError(`${at}.s3.object.key: required`);
  const change: ObjectChange = { kind, bucket, key: decodeS3Key(rawKey, `${at}.s3.object.key`, encoding) };
  const etag = bareEtag(str(object.eTag) ?? str(object.etag));
  // A removal's record has no meaningful size or etag (some servers send 0 and null): report none.
  if (kind === 'created') {
    if (typeof object.size === 'number' && Number.isSafeInteger(object.size) && object.size >= 0)
      change.size = object.size;
    if (etag !== undefined) change.etag = etag;
    const contentType = str(object.contentType);
    if (contentType !== undefined) change.contentType = contentType;
  }
  const time = str(record.eventTime);
  if (time !== undefined && !Number.isNaN(Date.parse(time))) change.time = new Date(time).toISOString();
  // Identical on a redelivery, different for another change of the key: a stable id for dedup. The time and
  // etag are part of it because some servers restart their sequencer at 1.
  const sequencer = str(object.sequencer);
  if (sequencer !== undefined) change.originId = [eventName, sequencer, time ?? '', etag ?? ''].join('/');
  return change;
}

/**
 * Changes in an S3/MinIO notification body (`{"Records": [...]}`, MinIO adding `EventName` and `Key`). An S3
 * `s3:TestEvent` (sent when a notification is configured) carries no change. Anything else is a 400.
 */
export function fromS3Notification(
  body: unknown,
  encoding: KeyEncoding,
): { changes: ObjectChange[]; skipped: number } | undefined {
  if (!isRecord(body)) return undefined;
  if (body.Event === 's3:TestEvent') return { changes: [], skipped: 1 };
  if (!('Records' in body)) return undefined;
  if (!Array.isArray(body.Records)) throw new BadNotificationError('Records: expected a list');
  const changes: ObjectChange[] = [];
  let skipped = 0;
  body.Records.forEach((record, i) => {
    const change = fromS3Record(record, `Records[${i}]`, encoding);
    if (change) changes.push(change);
    else skipped++;
  });
  return { changes, skipped };
}
