import { createHash, randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import { type CloudEvent, makeEvent } from '../../core/cloudevent.ts';
import { OBJECT_CREATED, OBJECT_DELETED, type ObjectChange, type StorageObjectData } from './types.ts';

/** CloudEvent `source` of a StorageSource's events (the shape Knative sources use). */
export function storageSourceSource(namespace: string, name: string): string {
  return `/apis/v1/namespaces/${namespace}/storagesources/${name}`;
}

/** Key of a StorageSource in the runner: `<namespace>/<name>`. */
export function storageSourceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Builds the event of one change; `extensions` are the source's `ceOverrides`. */
export function storageEvent(
  change: ObjectChange,
  source: string,
  extensions: Readonly<Record<string, string>> = {},
): CloudEvent {
  const data: StorageObjectData = { bucket: change.bucket, key: change.key };
  if (change.size !== undefined) data.size = change.size;
  if (change.etag !== undefined) data.etag = change.etag;
  if (change.contentType !== undefined) data.contentType = change.contentType;
  // Raw key, as KServe's storage initializer and our model server read s3:// URIs (no percent-decoding).
  data.uri = change.uri ?? `s3://${change.bucket}/${change.key}`;
  const id =
    change.originId === undefined
      ? randomUUID()
      : createHash('sha256')
          .update(`${change.kind}\0${change.bucket}\0${change.key}\0${change.originId}`)
          .digest('hex');
  return makeEvent(
    {
      ...extensions,
      id,
      source,
      type: change.kind === 'created' ? OBJECT_CREATED : OBJECT_DELETED,
      subject: change.key,
      time: change.time ?? new Date().toISOString(),
      datacontenttype: 'application/json',
    },
    data,
  );
}

/** S3 shows ETags in quotes; events and checkpoints carry the bare value. */
export function bareEtag(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  const trimmed = etag.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
}

/**
 * Content types by file extension, for objects whose origin does not say (a local file, an S3 listing).
 * Deliberately short: the types a model/batch pipeline meets; anything else is application/octet-stream.
 */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.ndjson': 'application/x-ndjson',
  '.csv': 'text/csv',
  '.tsv': 'text/tab-separated-values',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.xml': 'application/xml',
  '.html': 'text/html',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.parquet': 'application/vnd.apache.parquet',
  '.onnx': 'application/octet-stream',
};

export function contentTypeOf(key: string): string {
  return BY_EXTENSION[extname(key).toLowerCase()] ?? 'application/octet-stream';
}
