/**
 * Which storage events become which TrainedModel changes: a pure function of the event, so every rule is tested
 * without a platform. An object `models/<name>/…​.onnx` (or `models/<name>.onnx`) is model `<name>`.
 */

/** The data of a `dev.elasticserving.storage.object.*` event (services/sources/storage). */
export interface StorageObject {
  bucket?: string;
  key?: string;
  size?: number;
  etag?: string;
  contentType?: string;
  /** Where the object can be fetched from (`file:///…`, `s3://bucket/key`); derived from bucket+key if absent. */
  uri?: string;
}

export type ModelAction =
  | { action: 'deploy'; model: string; storageUri: string; version: string | undefined }
  | { action: 'undeploy'; model: string; storageUri: string }
  | { action: 'reject'; model: string; reason: string }
  | { action: 'ignore'; reason: string };

export const STORAGE_CREATED = 'dev.elasticserving.storage.object.created';
export const STORAGE_DELETED = 'dev.elasticserving.storage.object.deleted';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Where a stored object lives, as a storageUri the model server can fetch. */
export function objectUri(obj: StorageObject): string | undefined {
  if (obj.uri) return obj.uri;
  if (obj.bucket && obj.key) return `s3://${obj.bucket}/${obj.key}`;
  return undefined;
}

export function modelAction(
  type: string,
  key: string | undefined,
  obj: StorageObject,
  prefix = 'models/',
): ModelAction {
  if (type !== STORAGE_CREATED && type !== STORAGE_DELETED) return { action: 'ignore', reason: `event type ${type}` };
  if (!key?.startsWith(prefix)) return { action: 'ignore', reason: `key ${key ?? '(none)'} is not under ${prefix}` };
  if (!key.toLowerCase().endsWith('.onnx')) return { action: 'ignore', reason: `${key} is not an .onnx file` };
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  const model = slash === -1 ? rest.slice(0, -'.onnx'.length) : rest.slice(0, slash);
  if (!DNS_LABEL.test(model) || model.length > 63) {
    return {
      action: 'reject',
      model,
      reason: `model name ${JSON.stringify(model)} (from ${key}) must be a DNS label: lower-case a-z, 0-9 and "-"`,
    };
  }
  const storageUri = objectUri({ ...obj, key });
  if (!storageUri) return { action: 'reject', model, reason: `event for ${key} says neither uri nor bucket` };
  if (type === STORAGE_DELETED) return { action: 'undeploy', model, storageUri };
  return { action: 'deploy', model, storageUri, version: obj.etag };
}
