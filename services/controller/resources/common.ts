import { z } from 'zod';

/**
 * Schema pieces shared by every kind. Our own groups are validated strictly (a typo such as `handlr` is an
 * error naming the field), Knative's and KServe's loosely (fields we do not model yet, such as `CACerts` or
 * `ceOverrides`, must not stop existing YAML from applying unchanged).
 */
export type Strictness = 'strict' | 'loose';

export function objectOf<S extends z.ZodRawShape>(mode: Strictness, shape: S) {
  return mode === 'strict' ? z.strictObject(shape) : z.looseObject(shape);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(DNS_LABEL, 'must be a DNS label: lower-case a-z, 0-9 and "-", starting and ending alphanumeric');

export const dnsSubdomain = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(DNS_SUBDOMAIN, 'must be lower-case a-z, 0-9, "-" and ".", starting and ending alphanumeric');

export const nonEmpty = z.string().min(1, 'must not be empty');

const ISO_DURATION =
  /^P(?=\d|T\d)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/;

/** ISO-8601 duration such as `PT0.2S` (Knative's DeliverySpec format). */
export const isoDuration = z.string().regex(ISO_DURATION, 'must be an ISO-8601 duration such as PT0.2S or PT30S');

export const stringMap = z.record(z.string(), z.string());

/** Metadata: only what we read is checked; everything else Kubernetes allows there is kept. */
export const metadataSchema = z.looseObject({
  name: dnsSubdomain,
  namespace: dnsLabel.optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});

/** Knative KReference. */
export function kReference(mode: Strictness) {
  return objectOf(mode, {
    apiVersion: nonEmpty.optional(),
    kind: nonEmpty,
    name: nonEmpty,
    namespace: dnsLabel.optional(),
    group: z.string().optional(),
    address: z.string().optional(),
  });
}

function isAbsoluteUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Knative Destination: `ref` or `uri`. With a `ref`, `uri` may be a relative path resolved against the ref's
 * address; without one it must be an absolute http(s) URL.
 */
export function destination(mode: Strictness) {
  return objectOf(mode, {
    ref: kReference(mode).optional(),
    uri: z.string().optional(),
    CACerts: z.string().optional(),
    audience: z.string().optional(),
  }).superRefine((dest, ctx) => {
    if (dest.ref === undefined && (dest.uri === undefined || dest.uri === '')) {
      ctx.addIssue({ code: 'custom', message: 'ref or uri is required' });
    } else if (dest.ref === undefined && dest.uri !== undefined && !isAbsoluteUrl(dest.uri)) {
      ctx.addIssue({ code: 'custom', path: ['uri'], message: 'must be an absolute http(s) URL when ref is not set' });
    }
  });
}

/**
 * Knative DeliverySpec. Only shapes are checked here; semantics (e.g. a timeout above a limit) belong to the
 * delivery module, plugged in through `ValidationHooks.validateDelivery`.
 */
export function deliverySchema(mode: Strictness) {
  return objectOf(mode, {
    retry: z.number().int('must be an integer').min(0, 'must be >= 0').optional(),
    backoffPolicy: z.enum(['linear', 'exponential']).optional(),
    backoffDelay: isoDuration.optional(),
    timeout: isoDuration.optional(),
    retryAfterMax: isoDuration.optional(),
    deadLetterSink: destination(mode).optional(),
    format: z.enum(['json', 'binary']).optional(),
  });
}

/** Knative KReference as read by reconcilers. */
export interface KReference {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** Knative Destination as read by reconcilers. */
export interface Destination {
  ref?: KReference;
  uri?: string;
  CACerts?: string;
  audience?: string;
}

/** Knative DeliverySpec as read by reconcilers and the router. */
export interface DeliverySpec {
  retry?: number;
  backoffPolicy?: 'linear' | 'exponential';
  backoffDelay?: string;
  timeout?: string;
  retryAfterMax?: string;
  deadLetterSink?: Destination;
  format?: 'json' | 'binary';
}
