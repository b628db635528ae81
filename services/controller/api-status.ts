import { ElasticServingError, InvalidResourceError } from '../core/errors.ts';
import { AlreadyExistsError, ConflictError, NotFoundError, ResourceExpiredError } from './errors.ts';

/** Kubernetes `metav1.Status`, the body of every failed control-API request. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message: string;
  reason: string;
  code: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; field?: string; message: string }[];
  };
}

/** Where an error happened, for `details`. */
export interface StatusTarget {
  name?: string;
  group?: string;
  /** The REST resource (plural), as Kubernetes puts it in `details.kind`. */
  kind?: string;
}

const REASON_BY_CODE: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function failure(code: number, message: string, reason?: string, details?: KubeStatus['details']): KubeStatus {
  const status: KubeStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: reason ?? REASON_BY_CODE[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest'),
    code,
  };
  if (details !== undefined) status.details = details;
  return status;
}

function clean(target: StatusTarget | undefined): KubeStatus['details'] | undefined {
  if (target === undefined) return undefined;
  const details: NonNullable<KubeStatus['details']> = {};
  if (target.name !== undefined) details.name = target.name;
  if (target.group !== undefined) details.group = target.group;
  if (target.kind !== undefined) details.kind = target.kind;
  return details;
}

/** Maps any error (ours, fastify's, unexpected) onto a Status. */
export function statusFromError(err: unknown, target?: StatusTarget): KubeStatus {
  const details = clean(target);
  if (err instanceof InvalidResourceError) {
    const causes = err.issues.map((i) => ({ reason: 'FieldValueInvalid', field: i.path, message: i.message }));
    return failure(422, err.message, 'Invalid', { ...details, causes });
  }
  if (err instanceof NotFoundError) return failure(404, err.message, 'NotFound', details);
  if (err instanceof AlreadyExistsError) return failure(409, err.message, 'AlreadyExists', details);
  if (err instanceof ConflictError) return failure(409, err.message, 'Conflict', details);
  if (err instanceof ResourceExpiredError) return failure(410, err.message, 'Expired', details);
  if (err instanceof ElasticServingError) return failure(err.statusCode, err.message, undefined, details);
  const code = (err as { statusCode?: unknown }).statusCode;
  if (typeof code === 'number' && code >= 400 && code < 500) {
    return failure(code, (err as Error).message, undefined, details);
  }
  return failure(500, err instanceof Error ? err.message : String(err), 'InternalError', details);
}
