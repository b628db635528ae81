import { ElasticServingError } from '../../core/errors.ts';

/** A dependency is missing or not ready yet; the reconciler shows `reason` on Ready=False and retries. */
export class NotReadyError extends ElasticServingError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super('ES_ERR_NOT_READY', message);
  }
}
