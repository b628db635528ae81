import type { CloudEvent } from '../cloudevent.ts';
import { ElasticServingError, InvalidEventError } from '../errors.ts';
import { encodeBinary, type HttpHeaders, parseBinary } from './binary.ts';
import { encodeStructured, parseBatch, parseStructured, toJsonObject } from './structured.ts';

export { encodeBinary, encodeStructured, type HttpHeaders, toJsonObject };

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

function mediaType(headers: HttpHeaders): string {
  const ct = headers['content-type'];
  if (typeof ct !== 'string') return '';
  const semi = ct.indexOf(';');
  return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}

export type HttpMode = 'binary' | 'structured' | 'batch';

/** Which CloudEvents HTTP content mode a request uses (binary unless the media type names another). */
export function httpMode(headers: HttpHeaders): HttpMode {
  const mt = mediaType(headers);
  if (mt === STRUCTURED) return 'structured';
  if (mt === BATCH) return 'batch';
  if (mt.startsWith('application/cloudevents')) {
    throw new ElasticServingError('ES_ERR_UNSUPPORTED_MEDIA_TYPE', `unsupported CloudEvents format ${mt}: use JSON`);
  }
  return 'binary';
}

/** Parses one HTTP request into the events it carries (one, or many in batched mode); throws with a reason. */
export function parseHttpEvents(headers: HttpHeaders, body: Buffer | undefined): CloudEvent[] {
  switch (httpMode(headers)) {
    case 'structured':
      return [parseStructured(body)];
    case 'batch':
      return parseBatch(body);
    default:
      if (headers['ce-specversion'] === undefined && headers['ce-id'] === undefined) {
        throw new InvalidEventError(
          'not a CloudEvent: no ce-specversion header (binary mode) and Content-Type is not application/cloudevents+json',
        );
      }
      return [parseBinary(headers, body)];
  }
}

/** Parses a request or response that must hold exactly one event (binary or structured). */
export function parseHttpEvent(headers: HttpHeaders, body: Buffer | undefined): CloudEvent {
  if (httpMode(headers) === 'batch') throw new InvalidEventError('expected one event, got a batch');
  return parseHttpEvents(headers, body)[0]!;
}

/** True when a message says it is a CloudEvent (ce- headers or a CloudEvents content type). */
export function claimsCloudEvent(headers: HttpHeaders): boolean {
  return headers['ce-specversion'] !== undefined || mediaType(headers).startsWith('application/cloudevents');
}
