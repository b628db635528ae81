import { type CeAttributes, type CloudEvent, isJsonContentType } from '../cloudevent.ts';
import { InvalidEventError } from '../errors.ts';
import { assertUtf8 } from './header-value.ts';
import { validateAttributes } from './validate.ts';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Turns one JSON-format object (structured mode, or one member of a batch) into a validated CloudEvent. */
export function fromJsonObject(value: unknown, where = 'event'): CloudEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidEventError(`${where} must be a JSON object`);
  }
  const attrs = {} as CeAttributes;
  let data: Buffer | undefined;
  let hasData = false;
  const json = value as Record<string, unknown>;
  for (const name in json) {
    const member = json[name];
    if (name === 'data') {
      hasData = member !== undefined;
      continue;
    }
    if (name === 'data_base64') continue;
    if (member === null || member === undefined) continue;
    if (typeof member !== 'string' && typeof member !== 'number' && typeof member !== 'boolean') {
      throw new InvalidEventError(`${where}: attribute ${name} must be a string, integer or boolean`);
    }
    attrs[name] = member;
  }
  try {
    validateAttributes(attrs);
  } catch (err) {
    throw where === 'event' ? err : new InvalidEventError(`${where}: ${(err as Error).message}`);
  }
  const base64 = json.data_base64;
  if (base64 !== undefined && base64 !== null) {
    if (hasData) throw new InvalidEventError(`${where}: data and data_base64 are mutually exclusive`);
    if (typeof base64 !== 'string' || !BASE64.test(base64) || base64.length % 4 !== 0) {
      throw new InvalidEventError(`${where}: data_base64 is not valid base64`);
    }
    data = Buffer.from(base64, 'base64');
  } else if (hasData) {
    const member = json.data;
    const ct = attrs.datacontenttype;
    if (typeof member === 'string' && ct !== undefined && !isJsonContentType(ct)) data = Buffer.from(member, 'utf8');
    else data = Buffer.from(JSON.stringify(member), 'utf8');
  }
  return data === undefined ? { attributes: attrs } : { attributes: attrs, data };
}

export function parseJsonBody(body: Buffer | undefined, what: string): unknown {
  if (!body || body.length === 0) throw new InvalidEventError(`${what}: empty body`);
  const text = assertUtf8(body, `${what} body`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidEventError(`${what}: body is not valid JSON (${(err as Error).message})`);
  }
}

export function parseStructured(body: Buffer | undefined): CloudEvent {
  return fromJsonObject(parseJsonBody(body, 'structured event'));
}

export function parseBatch(body: Buffer | undefined): CloudEvent[] {
  const list = parseJsonBody(body, 'batch');
  if (!Array.isArray(list)) throw new InvalidEventError('batch: body must be a JSON array of events');
  return list.map((item, i) => fromJsonObject(item, `batch[${i}]`));
}

/** The JSON-format object of an event: `data` inline when it is JSON or UTF-8 text, else `data_base64`. */
export function toJsonObject(event: CloudEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { ...event.attributes };
  const data = event.data;
  if (!data) return out;
  const ct = event.attributes.datacontenttype;
  if (ct === undefined || isJsonContentType(ct)) {
    try {
      out.data = JSON.parse(data.toString('utf8'));
      return out;
    } catch {
      // not JSON after all: fall through to base64 so no byte is lost
    }
  } else if (ct.startsWith('text/')) {
    out.data = data.toString('utf8');
    return out;
  }
  out.data_base64 = data.toString('base64');
  return out;
}

export function encodeStructured(event: CloudEvent): { headers: Record<string, string>; body: Buffer } {
  return {
    headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    body: Buffer.from(JSON.stringify(toJsonObject(event)), 'utf8'),
  };
}
