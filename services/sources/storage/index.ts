/**
 * StorageSource: object-storage changes as `dev.elasticserving.storage.object.created|deleted` CloudEvents, from
 * a watched local directory, an S3-compatible bucket polled with ListObjectsV2, or bucket notifications pushed to
 * a webhook (S3/MinIO `Records[]`, GCS and S3-adapter CloudEvents).
 */

export {
  type CredentialContext,
  CredentialError,
  referencedSecrets,
  resolveCredential,
  resolveStorageCredentials,
  type SecretLookup,
} from './credentials.ts';
export { DirectoryWatch, type DirectoryWatchOptions } from './directory.ts';
export { DEFAULT_SOURCE_DELIVERY, type StorageSend } from './emitter.ts';
export { contentTypeOf, storageEvent, storageSourceKey, storageSourceSource } from './events.ts';
export { isTemporaryName } from './files.ts';
export { ObjectLedger, type ObjectState } from './ledger.ts';
export { StorageSourceNotReadyError, StorageSourceRunner, type StorageSourceRunnerOptions } from './runner.ts';
export { createS3Client, type S3Location, s3Location } from './s3-client.ts';
export { type PollResult, S3Poller, type S3PollerOptions } from './s3-poller.ts';
export { STORAGE_WEBHOOK_PORT, type StorageWebhookServerOptions, serveStorageWebhooks } from './serve.ts';
export {
  OBJECT_CREATED,
  OBJECT_DELETED,
  type ObjectChange,
  type ResolvedCredentials,
  type SourceHealth,
  type StorageObjectData,
  type StorageSourceResource,
  type StorageSourceSpec,
} from './types.ts';
export { type ParsedNotification, parseNotification } from './webhook/parse.ts';
export { BadNotificationError, decodeS3Key, type KeyEncoding } from './webhook/records.ts';
export { buildStorageWebhookApp, type StorageWebhookOptions, type WebhookEndpoint } from './webhook/server.ts';
