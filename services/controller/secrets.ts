import { ElasticServingError } from '../core/errors.ts';
import { NotFoundError } from './errors.ts';
import { SECRET_KIND, type SecretKeySelector } from './resources/secrets.ts';
import type { Resource } from './resources/types.ts';
import type { ResourceStore } from './store.ts';

/**
 * Reading credentials out of Secret resources. Errors name the Secret and the key, never a value, so they can be
 * logged and written to a resource's status as they are.
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A Secret exists but lacks the key asked for, or holds something that is not base64 under it. */
export class SecretKeyError extends ElasticServingError {
  constructor(
    readonly namespace: string,
    readonly secretName: string,
    readonly key: string,
    /** `missing`: no such key; `malformed`: the value under it is not base64. */
    readonly problem: 'missing' | 'malformed',
    message: string,
  ) {
    super('ES_ERR_NOT_FOUND', message);
  }
}

function stringEntries(value: unknown): [string, string][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string');
}

/**
 * Every value of a Secret, decoded: `data` (base64) with `stringData` (plain text) laid over it, as the
 * Kubernetes API server merges them on write.
 * @throws SecretKeyError when a `data` value is not base64.
 */
export function secretValues(secret: Resource): Map<string, string> {
  const out = new Map<string, string>();
  const namespace = secret.metadata.namespace ?? 'default';
  for (const [key, encoded] of stringEntries(secret.data)) {
    if (!BASE64.test(encoded)) {
      throw new SecretKeyError(
        namespace,
        secret.metadata.name,
        key,
        'malformed',
        `Secret ${namespace}/${secret.metadata.name}: data[${JSON.stringify(key)}] is not valid base64`,
      );
    }
    out.set(key, Buffer.from(encoded, 'base64').toString('utf8'));
  }
  for (const [key, plain] of stringEntries(secret.stringData)) out.set(key, plain);
  return out;
}

/**
 * The value of `ref.key` in Secret `ref.name` of `namespace`, decoded to text.
 * @throws NotFoundError when the Secret does not exist; SecretKeyError when it has no such key (the message lists
 *   the keys it has) or the value is not base64.
 */
export async function resolveSecretKey(
  store: Pick<ResourceStore, 'get'>,
  namespace: string,
  ref: Omit<SecretKeySelector, 'optional'>,
): Promise<string> {
  const secret = await store.get({ kind: SECRET_KIND, namespace, name: ref.name });
  if (secret === undefined) throw new NotFoundError(SECRET_KIND, namespace, ref.name);
  const values = secretValues(secret);
  const value = values.get(ref.key);
  if (value === undefined) {
    const keys = [...values.keys()].sort();
    throw new SecretKeyError(
      namespace,
      ref.name,
      ref.key,
      'missing',
      `Secret ${namespace}/${ref.name} has no key ${JSON.stringify(ref.key)} (keys: ${keys.length === 0 ? 'none' : keys.join(', ')})`,
    );
  }
  return value;
}

/**
 * Like `resolveSecretKey`, but a selector marked `optional: true` resolves to `undefined` when the Secret or the
 * key is missing (Kubernetes' rule for optional references); a malformed value still fails.
 */
export async function resolveOptionalSecretKey(
  store: Pick<ResourceStore, 'get'>,
  namespace: string,
  ref: SecretKeySelector,
): Promise<string | undefined> {
  try {
    return await resolveSecretKey(store, namespace, ref);
  } catch (err) {
    const missing = err instanceof NotFoundError || (err instanceof SecretKeyError && err.problem === 'missing');
    if (ref.optional === true && missing) return undefined;
    throw err;
  }
}

/**
 * `(namespace, selector) → value | undefined` over a store: a missing Secret or key gives `undefined` (the caller
 * decides whether that is an error), a malformed value still throws. The shape the storage sources' credential
 * resolver takes as `lookupSecret`.
 */
export function secretLookup(
  store: Pick<ResourceStore, 'get'>,
): (namespace: string, selector: SecretKeySelector) => Promise<string | undefined> {
  return (namespace, selector) => resolveOptionalSecretKey(store, namespace, { ...selector, optional: true });
}

/** What a redacted Secret value shows instead (the CLI uses the same marker). */
export const REDACTED_VALUE = '***REDACTED***';

/**
 * A copy of `obj` safe to log: a Secret's `data` and `stringData` values are replaced by `REDACTED_VALUE` (the
 * keys stay visible); any other object is returned as is.
 */
export function redactSecret<T extends { kind?: unknown; data?: unknown; stringData?: unknown }>(obj: T): T {
  if (obj.kind !== SECRET_KIND) return obj;
  const hide = (map: unknown) =>
    typeof map === 'object' && map !== null && !Array.isArray(map)
      ? Object.fromEntries(Object.keys(map).map((k) => [k, REDACTED_VALUE]))
      : map;
  const out: T = { ...obj };
  if (obj.data !== undefined) out.data = hide(obj.data);
  if (obj.stringData !== undefined) out.stringData = hide(obj.stringData);
  return out;
}
