import { z } from 'zod';
import { dnsSubdomain, type Strictness } from './common.ts';
import type { FieldIssue, ObjectMeta } from './types.ts';

/**
 * Kubernetes core `v1` Secret, as the local control plane stores it. Unlike a cluster's API server the local
 * store runs no mutating admission, so `stringData` is kept as written rather than folded into `data`; readers
 * go through `secretValues` (services/controller/secrets.ts), which merges the two the way the API server does
 * (a `stringData` key wins over the same `data` key).
 */
export interface SecretResource {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  /** Free-form type; only `Opaque` and `kubernetes.io/basic-auth` carry meaning to us. @defaultValue 'Opaque' */
  type?: string;
  /** Values as base64 (standard alphabet, padded). */
  data?: Record<string, string>;
  /** Values as plain text; write-only in Kubernetes, kept here (see above). */
  stringData?: Record<string, string>;
  /** Kubernetes' immutable flag; kept but not enforced by the local store. */
  immutable?: boolean;
}

/** Where one credential lives: key `key` of Secret `name` in the reader's namespace (Kubernetes SecretKeySelector). */
export interface SecretKeySelector {
  name: string;
  key: string;
  /** When true a missing Secret or key resolves to `undefined` instead of failing. @defaultValue false */
  optional?: boolean;
}

export const SECRET_API_VERSION = 'v1';
export const SECRET_KIND = 'Secret';

const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The API server's limit on the whole of a Secret's values. */
export const SECRET_MAX_BYTES = 1024 * 1024;

/** A key of `data`/`stringData`: what a file name inside a mounted Secret may be. */
export const secretDataKey = z
  .string()
  .min(1, 'must not be empty')
  .max(253, 'must be at most 253 characters')
  .regex(DATA_KEY, 'must consist of alphanumerics, "-", "_" or "."');

/** SecretKeySelector for other kinds' specs (e.g. a StorageSource's credentials). */
export function secretKeySelector(mode: Strictness) {
  const shape = { name: dnsSubdomain, key: secretDataKey, optional: z.boolean().optional() };
  return mode === 'strict' ? z.strictObject(shape) : z.looseObject(shape);
}

/** A Secret has no `spec`: its values sit at the top level, checked by `secretIssues`. */
export function secretSpecSchema(_mode: Strictness): z.ZodType {
  return z.unknown().refine((spec) => spec === undefined, 'a Secret has no spec: put values under data or stringData');
}

function keyIssues(field: string, map: Record<string, string>): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const key of Object.keys(map)) {
    const bad = secretDataKey.safeParse(key);
    if (!bad.success) out.push({ path: `${field}[${JSON.stringify(key)}]`, message: bad.error.issues[0]!.message });
  }
  return out;
}

function stringMapIssues(field: string, value: unknown): FieldIssue[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ path: field, message: 'must be an object of key → string' }];
  }
  const out: FieldIssue[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') out.push({ path: `${field}[${JSON.stringify(key)}]`, message: 'must be a string' });
  }
  return out.length > 0 ? out : keyIssues(field, value as Record<string, string>);
}

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData', 'immutable']);

/**
 * What is wrong with a Secret's own fields (`data` base64 values, key names, `stringData`, `type`, `immutable`,
 * the 1 MiB limit). Messages never quote a value, only key names: they end up in API errors and logs.
 */
export function secretIssues(obj: Record<string, unknown>): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const field of Object.keys(obj)) {
    // `spec` has its own message (secretSpecSchema); `status` is the store's.
    if (!TOP_LEVEL.has(field) && field !== 'status' && field !== 'spec') {
      out.push({ path: field, message: 'unknown field' });
    }
  }
  if (obj.type !== undefined && typeof obj.type !== 'string') out.push({ path: 'type', message: 'must be a string' });
  if (obj.immutable !== undefined && typeof obj.immutable !== 'boolean') {
    out.push({ path: 'immutable', message: 'must be a boolean' });
  }
  const dataIssues = stringMapIssues('data', obj.data);
  out.push(...dataIssues, ...stringMapIssues('stringData', obj.stringData));
  if (out.length > 0) return out;
  let bytes = 0;
  for (const [key, value] of Object.entries((obj.data ?? {}) as Record<string, string>)) {
    if (!BASE64.test(value)) out.push({ path: `data[${JSON.stringify(key)}]`, message: 'must be base64' });
    else bytes += Buffer.byteLength(value, 'base64');
  }
  for (const value of Object.values((obj.stringData ?? {}) as Record<string, string>))
    bytes += Buffer.byteLength(value);
  if (bytes > SECRET_MAX_BYTES) {
    out.push({ path: 'data', message: `values must total at most ${SECRET_MAX_BYTES} bytes (got ${bytes})` });
  }
  return out;
}

/** Whether `obj` is written as a Secret (core `v1`). */
export function isSecret(obj: { apiVersion?: unknown; kind?: unknown }): boolean {
  return obj.kind === SECRET_KIND && obj.apiVersion === SECRET_API_VERSION;
}
