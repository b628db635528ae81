import type { CeAttributes } from '../cloudevent.ts';
import { InvalidEventError } from '../errors.ts';

const EXTENSION_NAME = /^[a-z0-9]+$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const REQUIRED = ['id', 'source', 'type'] as const;
const NON_EMPTY_OPTIONAL = ['subject', 'dataschema', 'datacontenttype'] as const;

/**
 * Validates a CloudEvent v1.0 context; throws `InvalidEventError` naming the first problem. The `cloudevents`
 * package's own validation (ajv, plus building errors it then drops) was measured as the dominant ingress cost,
 * so the few rules of the spec are checked here directly.
 */
export function validateAttributes(attrs: CeAttributes): void {
  if (attrs.specversion === undefined) throw new InvalidEventError('missing required attribute: specversion');
  if (attrs.specversion !== '1.0') {
    throw new InvalidEventError(`unsupported specversion ${JSON.stringify(attrs.specversion)} (only "1.0")`);
  }
  for (const name of REQUIRED) {
    const value = attrs[name];
    if (value === undefined) throw new InvalidEventError(`missing required attribute: ${name}`);
    if (typeof value !== 'string' || value === '')
      throw new InvalidEventError(`attribute ${name} must be a non-empty string`);
  }
  for (const name of NON_EMPTY_OPTIONAL) {
    const value = attrs[name];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new InvalidEventError(`attribute ${name} must be a non-empty string when present`);
    }
  }
  if (attrs.time !== undefined && !isRfc3339(attrs.time)) {
    throw new InvalidEventError(`attribute time is not an RFC 3339 timestamp: ${JSON.stringify(attrs.time)}`);
  }
  for (const name in attrs) {
    if (!EXTENSION_NAME.test(name)) {
      throw new InvalidEventError(
        `invalid attribute name ${JSON.stringify(name)}: names are lower-case a-z and 0-9 only`,
      );
    }
    const value = attrs[name];
    if (typeof value === 'number' && (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX)) {
      throw new InvalidEventError(`attribute ${name} is a number but not a 32-bit integer`);
    }
  }
}

export function isRfc3339(value: unknown): boolean {
  return typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}
