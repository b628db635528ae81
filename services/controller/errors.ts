import { ElasticServingError } from '../core/errors.ts';

/**
 * Store errors, each carrying the Kubernetes `Status.reason` the control API answers with. The registry in
 * services/core/errors.ts has no 410 code, so `ResourceExpiredError` keeps `ES_ERR_CONFLICT` and the API maps it
 * to 410 Gone by its reason.
 */
export type StatusReason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Expired';

function describe(kind: string, namespace: string, name: string): string {
  return `${kind} ${namespace}/${name}`;
}

export class NotFoundError extends ElasticServingError {
  readonly reason: StatusReason = 'NotFound';
  constructor(
    readonly kind: string,
    readonly namespace: string,
    readonly resourceName: string,
  ) {
    super('ES_ERR_NOT_FOUND', `${describe(kind, namespace, resourceName)} not found`);
  }
}

export class AlreadyExistsError extends ElasticServingError {
  readonly reason: StatusReason = 'AlreadyExists';
  constructor(
    readonly kind: string,
    readonly namespace: string,
    readonly resourceName: string,
  ) {
    super('ES_ERR_CONFLICT', `${describe(kind, namespace, resourceName)} already exists`);
  }
}

/** A write named a `resourceVersion` that is no longer current (optimistic concurrency). */
export class ConflictError extends ElasticServingError {
  readonly reason: StatusReason = 'Conflict';
  constructor(
    readonly kind: string,
    readonly namespace: string,
    readonly resourceName: string,
    detail: string,
  ) {
    super('ES_ERR_CONFLICT', `${describe(kind, namespace, resourceName)}: ${detail}`);
  }
}

/** A watch asked to resume from a `resourceVersion` older than the history kept (Kubernetes 410 Gone). */
export class ResourceExpiredError extends ElasticServingError {
  readonly reason: StatusReason = 'Expired';
  constructor(message: string) {
    super('ES_ERR_CONFLICT', message);
  }
}
