import type { CeAttributes, CloudEvent } from '../../services/core/cloudevent.ts';

/**
 * CloudEvents in a Redis stream entry. Redis has no official CloudEvents binding, so this follows the spirit of the
 * Kafka binary mode (README.md documents it for other clients): every attribute is the field `ce_<name>` with the
 * attribute's canonical string form as value (UTF-8), and the payload, when there is one, is the field `data`
 * holding the bytes unchanged. `datacontenttype` is `ce_datacontenttype` like any other attribute.
 */
export const ATTRIBUTE_PREFIX = 'ce_';
export const DATA_FIELD = 'data';

const fieldNames = new Map<string, string>();

/** `ce_<name>`, cached: the same few attribute names repeat on every append. */
function fieldName(attribute: string): string {
  let name = fieldNames.get(attribute);
  if (name === undefined) {
    name = ATTRIBUTE_PREFIX + attribute;
    if (fieldNames.size < 1024) fieldNames.set(attribute, name);
  }
  return name;
}

/** Appends the entry fields of `event` to `out` (the XADD argument list being built). */
export function pushFields(event: CloudEvent, out: (string | Buffer | number)[]): void {
  const attributes = event.attributes;
  for (const name in attributes) {
    const value = attributes[name];
    if (value === undefined) continue;
    out.push(fieldName(name), typeof value === 'string' ? value : String(value));
  }
  if (event.data !== undefined) out.push(DATA_FIELD, event.data);
}

const C = 0x63;
const E = 0x65;
const UNDERSCORE = 0x5f;

/**
 * The CloudEvent stored in an entry's fields (`[name, value, name, value, ...]` as returned by XRANGE/XREADGROUP),
 * or undefined when the entry is not one (a required attribute is missing). Fields other than `ce_*` and `data`
 * are ignored. Attribute values come back as strings; `data` shares memory with the reply buffer.
 */
export function decodeFields(fields: readonly Buffer[]): CloudEvent | undefined {
  const attributes: Record<string, string> = {};
  let data: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.length > 3 && name[0] === C && name[1] === E && name[2] === UNDERSCORE) {
      attributes[name.toString('utf8', 3)] = value.toString('utf8');
    } else if (name.length === 4 && name.toString('latin1') === DATA_FIELD) {
      data = value;
    }
  }
  if (!attributes.specversion || !attributes.id || !attributes.source || !attributes.type) return undefined;
  const event: CloudEvent = { attributes: attributes as CeAttributes };
  if (data !== undefined) event.data = data;
  return event;
}
