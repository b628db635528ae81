import { type CloudEvent, decodeData } from '../../../core/cloudevent.ts';
import { bareEtag } from '../events.ts';
import { OBJECT_CREATED, OBJECT_DELETED, type ObjectChange } from '../types.ts';
import { BadNotificationError, fromS3Notification, fromS3Record, isRecord, type KeyEncoding } from './records.ts';

const GCS_PREFIX = 'google.cloud.storage.object.v1.';
const S3_ADAPTER_PREFIX = 'com.amazonaws.s3.';

/** CloudEvent types the webhook understands (for the 400 message). */
export const ACCEPTED_TYPES = [
  `${GCS_PREFIX}finalized`,
  `${GCS_PREFIX}deleted`,
  `${S3_ADAPTER_PREFIX}ObjectCreated:*`,
  `${S3_ADAPTER_PREFIX}ObjectRemoved:*`,
  OBJECT_CREATED,
  OBJECT_DELETED,
];

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function jsonData(event: CloudEvent): Record<string, unknown> {
  const data = decodeData(event);
  if (!isRecord(data)) {
    throw new BadNotificationError(
      `event ${event.attributes.id} (${event.attributes.type}): data must be a JSON object`,
    );
  }
  return data;
}

/** A GCS size is an int64 written as a JSON string (`"1024"`); some emitters write a number. */
function gcsSize(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * A GCS `google.cloud.storage.object.v1.finalized|deleted` event (Eventarc, binary or structured). Data is the
 * StorageObjectData: `name` is the key, not encoded. The etag we report is the MD5 in hex (from `md5Hash`) when
 * the object has one, comparable with S3 and directory etags; composite objects have none and keep GCS's `etag`.
 */
function fromGcs(event: CloudEvent, kind: 'created' | 'deleted'): ObjectChange {
  const data = jsonData(event);
  const subject = event.attributes.subject;
  const key = str(data.name) ?? (subject?.startsWith('objects/') ? subject.slice('objects/'.length) : undefined);
  const bucket = str(data.bucket) ?? /\/buckets\/([^/]+)$/.exec(event.attributes.source)?.[1];
  if (key === undefined) throw new BadNotificationError(`event ${event.attributes.id}: data.name is required`);
  if (bucket === undefined) throw new BadNotificationError(`event ${event.attributes.id}: data.bucket is required`);
  const change: ObjectChange = { kind, bucket, key, originId: `${event.attributes.source}/${event.attributes.id}` };
  const size = gcsSize(data.size);
  if (size !== undefined) change.size = size;
  const md5 = str(data.md5Hash);
  const etag = md5 ? Buffer.from(md5, 'base64').toString('hex') : str(data.etag);
  if (etag !== undefined) change.etag = etag;
  const contentType = str(data.contentType);
  if (contentType !== undefined) change.contentType = contentType;
  const time = event.attributes.time ?? str(data.updated);
  if (time !== undefined && !Number.isNaN(Date.parse(time))) change.time = new Date(time).toISOString();
  return change;
}

/** Our own storage event, re-announced by this source (e.g. relayed from another installation). */
function fromOwn(event: CloudEvent, kind: 'created' | 'deleted'): ObjectChange {
  const data = jsonData(event);
  const key = str(data.key) ?? event.attributes.subject;
  const bucket = str(data.bucket);
  if (key === undefined || bucket === undefined) {
    throw new BadNotificationError(`event ${event.attributes.id}: data.bucket and data.key are required`);
  }
  const change: ObjectChange = { kind, bucket, key, originId: `${event.attributes.source}/${event.attributes.id}` };
  if (typeof data.size === 'number') change.size = data.size;
  const etag = bareEtag(str(data.etag));
  if (etag !== undefined) change.etag = etag;
  if (str(data.contentType)) change.contentType = data.contentType as string;
  if (event.attributes.time !== undefined) change.time = event.attributes.time;
  return change;
}

/**
 * The changes one CloudEvent carries, `[]` for a storage event that is not an object change (a GCS
 * `metadataUpdated`, an S3 `ObjectAccessed`). An unknown type is a 400 listing the accepted ones.
 */
export function fromCloudEvent(event: CloudEvent, encoding: KeyEncoding = 'auto'): ObjectChange[] {
  const { type } = event.attributes;
  if (type === `${GCS_PREFIX}finalized`) return [fromGcs(event, 'created')];
  if (type === `${GCS_PREFIX}deleted`) return [fromGcs(event, 'deleted')];
  if (type.startsWith(GCS_PREFIX)) return []; // archived, metadataUpdated
  if (type === OBJECT_CREATED) return [fromOwn(event, 'created')];
  if (type === OBJECT_DELETED) return [fromOwn(event, 'deleted')];
  if (type.startsWith(S3_ADAPTER_PREFIX)) {
    // The CloudEvents S3 adapter: data is one S3 event record; accept a whole `Records` body as well.
    const data = jsonData(event);
    const many = fromS3Notification(data, encoding);
    if (many) return many.changes;
    const change = fromS3Record(data, 'data', encoding, type.slice(S3_ADAPTER_PREFIX.length));
    if (change && change.originId === undefined) change.originId = `${event.attributes.source}/${event.attributes.id}`;
    return change ? [change] : [];
  }
  throw new BadNotificationError(
    `unsupported event type ${JSON.stringify(type)} (accepted: ${ACCEPTED_TYPES.join(', ')})`,
  );
}
