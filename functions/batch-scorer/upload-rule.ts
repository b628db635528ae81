/**
 * Which storage uploads become BatchJobs: a pure function of the event. An object `batches/<model>/<name>.jsonl`
 * (or `.csv`) in a local directory bucket is scored with `<model>` into `results/<model>/<name>.jsonl` of the same
 * bucket. Only local files can be batch input (the coordinator reads the file twice and resumes from it), so an
 * upload to an S3 bucket is refused with the reason.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** The data of a `dev.elasticserving.storage.object.created` event. */
export interface StorageObject {
  bucket?: string;
  key?: string;
  etag?: string;
  /** `file:///…` for a directory bucket. */
  uri?: string;
}

export type UploadAction =
  | { action: 'submit'; name: string; model: string; input: string; output: string }
  | { action: 'reject'; reason: string }
  | { action: 'ignore'; reason: string };

export const STORAGE_CREATED = 'dev.elasticserving.storage.object.created';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-label BatchJob name for this upload: readable, and distinct per object version. */
function jobName(model: string, stem: string, version: string): string {
  const readable = `${model}-${stem}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  const hash = createHash('sha256').update(version).digest('hex').slice(0, 8);
  return `${readable || 'batch'}-${hash}`;
}

export function uploadAction(
  type: string,
  key: string | undefined,
  obj: StorageObject,
  prefix = 'batches/',
): UploadAction {
  if (type !== STORAGE_CREATED) return { action: 'ignore', reason: `event type ${type}` };
  if (!key?.startsWith(prefix)) return { action: 'ignore', reason: `key ${key ?? '(none)'} is not under ${prefix}` };
  const match = /^([^/]+)\/(?:.*\/)?([^/]+)\.(jsonl|ndjson|csv)$/i.exec(key.slice(prefix.length));
  if (!match) return { action: 'ignore', reason: `${key} is not batches/<model>/<file>.jsonl|csv` };
  const [, model, stem] = match as unknown as [string, string, string];
  if (!DNS_LABEL.test(model))
    return { action: 'reject', reason: `model name ${JSON.stringify(model)} is not a DNS label` };
  if (!obj.uri?.startsWith('file://')) {
    return {
      action: 'reject',
      reason: `${key}: batch input must be a local file (directory bucket), not ${obj.uri ?? 'unknown'}`,
    };
  }
  const input = fileURLToPath(obj.uri);
  const root = input.slice(0, input.length - key.length);
  return {
    action: 'submit',
    name: jobName(model, stem, `${key}\n${obj.etag ?? ''}`),
    model,
    input,
    output: `${root}results/${model}/${stem}.jsonl`,
  };
}
