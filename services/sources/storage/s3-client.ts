import { S3Client } from '@aws-sdk/client-s3';
import type { ResolvedCredentials, StorageSourceSpec } from './types.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** Where a source's S3 client talks to, after defaults: for the status and the checkpoint's scope. */
export interface S3Location {
  /** Endpoint URL, or `undefined` for AWS itself. */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  prefix: string;
}

/**
 * The endpoint and region of an `s3` spec with the shared defaults applied: `spec.endpoint`, else env
 * `ES_S3_ENDPOINT`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`; region `spec.region`, else `AWS_REGION`, else us-east-1.
 */
export function s3Location(spec: NonNullable<StorageSourceSpec['s3']>, env: Env = process.env): S3Location {
  const endpoint = [spec.endpoint, env.ES_S3_ENDPOINT, env.AWS_ENDPOINT_URL_S3, env.AWS_ENDPOINT_URL].find(
    (v) => v !== undefined && v !== '',
  );
  return {
    endpoint: endpoint?.replace(/\/+$/, ''),
    region: spec.region ?? (env.AWS_REGION || 'us-east-1'),
    bucket: spec.bucket,
    prefix: spec.prefix ?? '',
  };
}

/**
 * An S3 client with path-style addressing (what MinIO, moto and most S3-compatible servers expect). Without
 * explicit credentials the SDK's default chain applies (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, ...).
 * The SDK's logger is left unset, so neither requests nor credentials are ever logged.
 */
export function createS3Client(location: S3Location, credentials: ResolvedCredentials['s3']): S3Client {
  return new S3Client({
    ...(location.endpoint ? { endpoint: location.endpoint } : {}),
    region: location.region,
    forcePathStyle: true,
    ...(credentials ? { credentials } : {}),
    // A listing must not hang a poll forever on a half-open connection.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    maxAttempts: 2,
  });
}
