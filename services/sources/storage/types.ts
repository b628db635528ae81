import type { CredentialValue, StorageSourceSpec } from '../../controller/resources/sources.ts';

export type { CredentialValue, StorageSourceSpec };

/** CloudEvent `type` of an object that was written (new, or its content changed). */
export const OBJECT_CREATED = 'dev.elasticserving.storage.object.created';
/** CloudEvent `type` of an object that was removed. */
export const OBJECT_DELETED = 'dev.elasticserving.storage.object.deleted';

/** Which way a StorageSource learns about objects. */
export type StorageMode = 'directory' | 's3' | 'webhook';

/** One object change, normalised from whichever origin reported it. */
export interface ObjectChange {
  kind: 'created' | 'deleted';
  bucket: string;
  /** Object key, decoded (`models/iris v2/model.onnx`, never `models/iris+v2/…`). */
  key: string;
  /** Bytes; unknown for most deletions. */
  size?: number;
  /** Content hash as S3 shows it, without quotes (MD5 hex for single-part objects). */
  etag?: string;
  contentType?: string;
  /** Where the object can be read: `file:///…` for a directory, `s3://bucket/key` for a bucket (a storageUri). */
  uri?: string;
  /** When the change happened (RFC 3339), if the origin says. @defaultValue the time the event is built */
  time?: string;
  /**
   * A stable id of this change from the origin (e.g. an S3 sequencer), so a redelivered notification keeps its
   * CloudEvent id and backends that dedupe by `source`+`id` drop the copy. @defaultValue a random id
   */
  originId?: string;
}

/** `data` of every storage event. */
export interface StorageObjectData {
  bucket: string;
  key: string;
  size?: number;
  etag?: string;
  contentType?: string;
  /** Where the object can be read (`file:///…`, `s3://bucket/key`): what a TrainedModel's storageUri takes. */
  uri?: string;
}

/** A StorageSource as the runner needs it. */
export interface StorageSourceResource {
  metadata: { name: string; namespace?: string };
  spec: StorageSourceSpec;
}

/** Credentials after resolution; values are secret and never logged. */
export interface ResolvedCredentials {
  s3?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  webhookToken?: string;
}

/** How a running source is doing, for its status. */
export interface SourceHealth {
  ready: boolean;
  reason: string;
  message: string;
}

/** The mode a spec selects (the schema guarantees exactly one). */
export function storageMode(spec: StorageSourceSpec): StorageMode {
  if (spec.directory) return 'directory';
  if (spec.s3) return 's3';
  if (spec.webhook) return 'webhook';
  throw new Error('StorageSource spec has none of directory, s3, webhook');
}
