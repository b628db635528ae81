/**
 * `s3://bucket/key` from an S3-compatible endpoint (MinIO, moto, AWS), path-style. Settings come from the
 * environment: endpoint `ES_S3_ENDPOINT` (else `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`; none means AWS itself),
 * keys `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`; else the SDK's default chain), region
 * `AWS_REGION` (default us-east-1). Keys never appear in messages: only bucket, key and endpoint do.
 *
 * The SDK is imported on first use: it is large (1.4 MB, ~60 ms of a replica's cold start when bundled), and most
 * model servers never see an `s3://` URI.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { ModelLoadError } from './errors.ts';
import type { FetchedModel } from './storage.ts';
import { pickOnnx } from './storage-paths.ts';

type S3Module = typeof import('@aws-sdk/client-s3');

let sdk: Promise<S3Module> | undefined;

/**
 * The specifier is a variable on purpose: esbuild then leaves the import to run time instead of bundling the SDK
 * into every replica. A replica's bundle may live outside the project (its state directory), so when the bare name
 * does not resolve from there, it is resolved from the working directory, where the platform starts replicas.
 */
async function loadSdk(): Promise<S3Module> {
  const name = '@aws-sdk/client-s3';
  try {
    return (await import(name)) as S3Module;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    const resolved = createRequire(join(process.cwd(), 'noop.js')).resolve(name);
    return (await import(pathToFileURL(resolved).href)) as S3Module;
  }
}
const clients = new Map<string, S3Client>();

export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

export function s3Settings(env: NodeJS.ProcessEnv): S3Settings {
  const endpoint = env.ES_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  const credentials =
    id && secret
      ? {
          accessKeyId: id,
          secretAccessKey: secret,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  return { endpoint, region: env.AWS_REGION || 'us-east-1', credentials };
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri);
  if (!m) throw new ModelLoadError(`invalid S3 URI ${JSON.stringify(uri)}: use s3://bucket/key`);
  return { bucket: m[1]!, key: m[2]! };
}

async function clientFor(settings: S3Settings): Promise<{ client: S3Client; mod: S3Module }> {
  sdk ??= loadSdk();
  const mod = await sdk;
  const secret = settings.credentials?.secretAccessKey;
  const cacheKey = [
    settings.endpoint,
    settings.region,
    settings.credentials?.accessKeyId,
    secret ? createHash('sha256').update(secret).digest('hex') : '',
  ].join('\0');
  let client = clients.get(cacheKey);
  if (!client) {
    client = new mod.S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: true,
      credentials: settings.credentials,
    });
    clients.set(cacheKey, client);
  }
  return { client, mod };
}

function reasonOf(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? 'Error'}${status ? ` (${status})` : ''}: ${e.message ?? String(err)}`;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export async function fetchS3(uri: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<FetchedModel> {
  const { bucket, key } = parseS3Uri(uri);
  const settings = s3Settings(env);
  const { client, mod } = await clientFor(settings);
  const where = `s3://${bucket}/${key}${settings.endpoint ? ` at ${settings.endpoint}` : ''}`;

  const listPick = async (prefix: string): Promise<string | undefined> => {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new mod.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
        { abortSignal: signal },
      );
      for (const o of page.Contents ?? []) if (o.Key) names.push(o.Key.slice(prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (names.length === 0) return undefined;
    return prefix + pickOnnx(names, `s3://${bucket}/${prefix}`);
  };

  const get = async (k: string): Promise<FetchedModel> => {
    const res = await client.send(new mod.GetObjectCommand({ Bucket: bucket, Key: k }), { abortSignal: signal });
    if (!res.Body) throw new ModelLoadError(`s3://${bucket}/${k} has no body`);
    return { bytes: await res.Body.transformToByteArray(), from: `s3://${bucket}/${k}` };
  };

  try {
    if (key === '' || key.endsWith('/')) {
      const picked = await listPick(key);
      if (!picked) throw new ModelLoadError(`no .onnx file in ${where}`);
      return await get(picked);
    }
    try {
      return await get(key);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // The key may name a "directory" (a prefix), as a local path may name one.
      const picked = await listPick(`${key}/`);
      if (!picked) throw new ModelLoadError(`${where} does not exist`);
      return await get(picked);
    }
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`cannot fetch ${where}: ${reasonOf(err)}`, { cause: err });
  }
}
