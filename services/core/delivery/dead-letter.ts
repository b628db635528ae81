import { type CloudEvent, EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST } from '../cloudevent.ts';
import type { DeliveryOutcome } from './executor.ts';

/** Knative's `KnativeErrorDataExtensionMaxLength`: the cut applies to the base64 text, not to the body. */
export const KNATIVE_ERROR_DATA_MAX_LENGTH = 1024;

/**
 * The extensions Knative adds to an event it dead-letters:
 * - `knativeerrordest`: the destination that failed (the subscriber, or the reply address);
 * - `knativeerrorcode`: the last attempt's HTTP status; when it ended in a network error or timeout, `500`,
 *   as Knative's dispatcher records it;
 * - `knativeerrordata`: base64 of the last response body, the base64 text cut to 1024 characters (so it
 *   decodes to the first 768 bytes). For a network error or timeout the "body" is
 *   `dispatch error: <message>`, again as Knative does. Omitted when there is nothing to report (empty body),
 *   since an empty extension adds nothing a consumer can use.
 */
export function deadLetterExtensions(destination: string, outcome: DeliveryOutcome): Record<string, string> {
  const { result } = outcome;
  const code = result === undefined ? 500 : result.status;
  const body =
    result === undefined ? Buffer.from(`dispatch error: ${outcome.lastError?.message ?? 'no response'}`) : result.body;
  const extensions: Record<string, string> = {
    [EXT_ERROR_DEST]: destination,
    [EXT_ERROR_CODE]: String(code),
  };
  const data = encodeErrorData(body);
  if (data !== '') extensions[EXT_ERROR_DATA] = data;
  return extensions;
}

/** Base64 of `body`, cut to {@link KNATIVE_ERROR_DATA_MAX_LENGTH} characters. Only the needed bytes are encoded. */
export function encodeErrorData(body: Buffer): string {
  // 768 bytes encode to exactly 1024 base64 characters, so the cut never splits a quantum and stays decodable.
  const maxBytes = (KNATIVE_ERROR_DATA_MAX_LENGTH / 4) * 3;
  return body.subarray(0, maxBytes).toString('base64');
}

/**
 * A copy of `event` carrying the dead-letter extensions (the original event, not any reply, as in Knative);
 * `data` is shared, not copied.
 */
export function withDeadLetterExtensions(event: CloudEvent, destination: string, outcome: DeliveryOutcome): CloudEvent {
  const attributes = { ...event.attributes, ...deadLetterExtensions(destination, outcome) };
  return event.data === undefined ? { attributes } : { attributes, data: event.data };
}
