import { type CloudEvent, makeEvent } from '../../services/core/cloudevent.ts';
import { sendEvent } from '../../services/core/http/sender.ts';
import { BATCH_COMPLETED_TYPE, type BatchCompletedData } from './types.ts';

/**
 * The `dev.elasticserving.batch.completed` event of a job. Its id is fixed per job, so publishing it again after
 * a crash (at least once) is absorbed by brokers that dedup by source + id.
 */
export function completedEvent(data: BatchCompletedData): CloudEvent {
  return makeEvent(
    {
      id: `${data.job}-completed`,
      source: `/batches/${data.job}`,
      type: BATCH_COMPLETED_TYPE,
      subject: data.model,
      time: new Date().toISOString(),
    },
    data,
  );
}

/** POSTs the event to a broker ingress (binary mode), trying `attempts` times; rejects with the last failure. */
export async function publishCompleted(url: string, data: BatchCompletedData, attempts = 3): Promise<void> {
  const event = completedEvent(data);
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await sendEvent(url, event, AbortSignal.timeout(10_000));
      if (res.status >= 200 && res.status < 300) return;
      last = new Error(`${url} answered ${res.status}`);
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** i));
  }
  throw last;
}
