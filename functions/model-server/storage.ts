/**
 * Fetches a model's bytes from its `storageUri` (issue 5's schemes): `file://` (absolute path), `http(s)://`,
 * `s3://bucket/key`. A directory-like URI (ending in `/`, or naming a directory or key prefix) means the single
 * `*.onnx` inside it, `model.onnx` when there are several (KServe's convention).
 */
import { ModelLoadError } from './errors.ts';
import { fetchFile } from './storage-file.ts';
import { fetchHttp } from './storage-http.ts';
import { redactUri } from './storage-paths.ts';
import { fetchS3 } from './storage-s3.ts';

export { pickOnnx, redactUri } from './storage-paths.ts';

export interface FetchOptions {
  /** Aborts the transfer (the load was superseded or the model unloaded). @defaultValue undefined */
  signal?: AbortSignal;
  /** Environment to read S3 settings from. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
}

export interface FetchedModel {
  bytes: Uint8Array;
  /** Where the bytes came from (the file picked inside a directory), credentials and query removed. */
  from: string;
}

/** The signature the repository loads through; tests and embedders may pass their own. */
export type ModelFetcher = (storageUri: string, options?: FetchOptions) => Promise<FetchedModel>;

export const fetchModel: ModelFetcher = async (storageUri, options = {}) => {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(storageUri)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'file':
      return fetchFile(storageUri);
    case 'http':
    case 'https':
      return fetchHttp(storageUri, options.signal);
    case 's3':
      return fetchS3(storageUri, options.env ?? process.env, options.signal);
    default:
      throw new ModelLoadError(
        `unsupported storageUri ${JSON.stringify(redactUri(storageUri))}: use file://, http(s):// or s3://`,
      );
  }
};
