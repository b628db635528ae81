import type { SecretKeySelector } from '../../controller/resources/secrets.ts';
import { ElasticServingError } from '../../core/errors.ts';
import type { CredentialValue, ResolvedCredentials, StorageSourceSpec } from './types.ts';

/**
 * Reads key `selector.key` of Secret `selector.name` in `namespace`: the value, or `undefined` when the Secret or
 * the key does not exist. Provided by whoever has the resource store (the platform, the sources service).
 */
export type SecretLookup = (namespace: string, selector: SecretKeySelector) => Promise<string | undefined>;

/** A credential could not be resolved; `reason` goes on the source's Ready condition. Never carries a value. */
export class CredentialError extends ElasticServingError {
  constructor(
    readonly reason: 'CredentialsMissing' | 'SecretNotFound' | 'SecretInvalid' | 'SecretsUnavailable',
    message: string,
  ) {
    super('ES_ERR_NOT_READY', message);
  }
}

/** Where credentials are read from. */
export interface CredentialContext {
  namespace: string;
  /** @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** @defaultValue none: `secretKeyRef` credentials are not Ready (SecretsUnavailable) */
  lookupSecret?: SecretLookup;
}

/** Resolves one credential; `field` names it in errors. An optional Secret key that is missing gives `undefined`. */
export async function resolveCredential(
  value: CredentialValue,
  field: string,
  ctx: CredentialContext,
): Promise<string | undefined> {
  if (typeof value === 'string') return value;
  if ('env' in value) {
    const got = (ctx.env ?? process.env)[value.env];
    if (got === undefined || got === '') {
      throw new CredentialError('CredentialsMissing', `${field}: environment variable ${value.env} is not set`);
    }
    return got;
  }
  const ref = value.secretKeyRef;
  if (!ctx.lookupSecret) {
    throw new CredentialError('SecretsUnavailable', `${field}: Secret references cannot be resolved here`);
  }
  let got: string | undefined;
  try {
    got = await ctx.lookupSecret(ctx.namespace, ref);
  } catch (err) {
    // The Secret resolver's errors name the Secret and key, never a value (e.g. a data value that is not base64).
    throw new CredentialError('SecretInvalid', `${field}: ${(err as Error).message}`);
  }
  if (got === undefined && !ref.optional) {
    throw new CredentialError(
      'SecretNotFound',
      `${field}: key ${ref.key} of Secret ${ctx.namespace}/${ref.name} not found`,
    );
  }
  return got;
}

/** Every credential a StorageSource spec names, resolved. */
export async function resolveStorageCredentials(
  spec: StorageSourceSpec,
  ctx: CredentialContext,
): Promise<ResolvedCredentials> {
  const out: ResolvedCredentials = {};
  const creds = spec.s3?.credentials;
  if (creds) {
    const accessKeyId = await resolveCredential(creds.accessKeyId, 'spec.s3.credentials.accessKeyId', ctx);
    const secretAccessKey = await resolveCredential(creds.secretAccessKey, 'spec.s3.credentials.secretAccessKey', ctx);
    const sessionToken =
      creds.sessionToken === undefined
        ? undefined
        : await resolveCredential(creds.sessionToken, 'spec.s3.credentials.sessionToken', ctx);
    if (accessKeyId === undefined || secretAccessKey === undefined) {
      throw new CredentialError(
        'CredentialsMissing',
        'spec.s3.credentials: access key id and secret are both required',
      );
    }
    out.s3 = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  const token = spec.webhook?.token;
  if (token !== undefined) out.webhookToken = await resolveCredential(token, 'spec.webhook.token', ctx);
  return out;
}

/** Names of the Secrets a spec reads, so a change to one of them can re-reconcile the source. */
export function referencedSecrets(spec: StorageSourceSpec | undefined): string[] {
  const values = [
    spec?.s3?.credentials?.accessKeyId,
    spec?.s3?.credentials?.secretAccessKey,
    spec?.s3?.credentials?.sessionToken,
    spec?.webhook?.token,
  ];
  const names = new Set<string>();
  for (const v of values)
    if (v !== undefined && typeof v !== 'string' && 'secretKeyRef' in v) names.add(v.secretKeyRef.name);
  return [...names];
}
