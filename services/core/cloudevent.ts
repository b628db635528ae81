/**
 * The in-process shape of a CloudEvent v1.0.
 *
 * Context attributes live in one flat map so filters, codecs and the router read them the same way; `data` is
 * kept as the opaque bytes that arrived (binary mode body, or the encoded `data` / decoded `data_base64` of
 * structured mode), so an event is re-sent byte for byte and never re-serialised by accident.
 */
export type CeAttributeValue = string | number | boolean;

export interface CeAttributes {
  specversion: string;
  id: string;
  source: string;
  type: string;
  datacontenttype?: string;
  dataschema?: string;
  subject?: string;
  time?: string;
  [extension: string]: CeAttributeValue | undefined;
}

export interface CloudEvent {
  attributes: CeAttributes;
  /** Opaque payload bytes; absent when the event has no data. */
  data?: Buffer;
}

/** Attributes defined by the CloudEvents core spec (everything else is an extension). */
export const CORE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
]);

/** Extensions the broker itself manages (Knative names). */
export const EXT_ARRIVAL_TIME = 'knativearrivaltime';
export const EXT_BROKER_TTL = 'knativebrokerttl';
export const EXT_PARTITION_KEY = 'partitionkey';
export const EXT_ERROR_DEST = 'knativeerrordest';
export const EXT_ERROR_CODE = 'knativeerrorcode';
export const EXT_ERROR_DATA = 'knativeerrordata';

/** Attribute value in its canonical string form (how HTTP binary mode and CESQL's string view show it). */
export function attributeString(value: CeAttributeValue): string {
  return typeof value === 'string' ? value : String(value);
}

/** Builds an event from attributes and optional JSON/bytes data; used by sources, the SDK and tests. */
export function makeEvent(
  attributes: Omit<CeAttributes, 'specversion'> & { specversion?: string },
  data?: unknown,
): CloudEvent {
  const attrs = { specversion: '1.0', ...attributes } as CeAttributes;
  if (data === undefined) return { attributes: attrs };
  if (Buffer.isBuffer(data)) return { attributes: attrs, data };
  if (typeof data === 'string' && attrs.datacontenttype && !isJsonContentType(attrs.datacontenttype)) {
    return { attributes: attrs, data: Buffer.from(data) };
  }
  attrs.datacontenttype ??= 'application/json';
  return { attributes: attrs, data: Buffer.from(JSON.stringify(data)) };
}

export function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || mediaType === 'text/json' || mediaType.endsWith('+json');
}

/** Parses `data` as JSON when its content type says JSON (or is absent), else returns the bytes. */
export function decodeData(event: CloudEvent): unknown {
  if (!event.data) return undefined;
  const ct = event.attributes.datacontenttype;
  if (ct === undefined || isJsonContentType(ct)) {
    try {
      return JSON.parse(event.data.toString('utf8'));
    } catch {
      return event.data;
    }
  }
  if (ct.startsWith('text/')) return event.data.toString('utf8');
  return event.data;
}
