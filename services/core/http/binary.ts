import type { CeAttributes, CloudEvent } from '../cloudevent.ts';
import { InvalidEventError } from '../errors.ts';
import { decodeHeaderValue, encodeHeaderValue } from './header-value.ts';
import { validateAttributes } from './validate.ts';

export type HttpHeaders = Record<string, string | string[] | undefined>;

/** Reads a binary-mode CloudEvent: every `ce-` header is an attribute, Content-Type is `datacontenttype`. */
export function parseBinary(headers: HttpHeaders, body: Buffer | undefined): CloudEvent {
  const attrs = {} as CeAttributes;
  for (const key in headers) {
    if (key.length < 4 || key.charCodeAt(0) !== 99 /* c */ || key.charCodeAt(1) !== 101 /* e */ || key[2] !== '-') {
      continue;
    }
    const name = key.slice(3).toLowerCase();
    if (name === 'datacontenttype') {
      throw new InvalidEventError('header ce-datacontenttype is not allowed in binary mode: use Content-Type');
    }
    const raw = headers[key];
    if (raw === undefined) continue;
    attrs[name] = decodeHeaderValue(key, Array.isArray(raw) ? raw.join(',') : raw);
  }
  const contentType = headers['content-type'];
  if (typeof contentType === 'string' && contentType !== '') attrs.datacontenttype = contentType;
  validateAttributes(attrs);
  return body && body.length > 0 ? { attributes: attrs, data: body } : { attributes: attrs };
}

/**
 * Writes a CloudEvent in binary mode. Extensions of any type go out in their string form; `omit` names one
 * attribute to leave out (the broker's internal TTL) without copying the attribute map.
 */
export function encodeBinary(
  event: CloudEvent,
  omit?: string,
): { headers: Record<string, string>; body: Buffer | undefined } {
  const headers: Record<string, string> = {};
  const attrs = event.attributes;
  for (const name in attrs) {
    const value = attrs[name];
    if (value === undefined || name === omit) continue;
    if (name === 'datacontenttype') headers['content-type'] = String(value);
    else headers[`ce-${name}`] = encodeHeaderValue(typeof value === 'string' ? value : String(value));
  }
  return { headers, body: event.data };
}
