import { durationProblem, tryParseDurationMs } from './duration.ts';

/** One problem found in a resource, with the dotted path of the offending field. */
export interface DeliveryIssue {
  path: string;
  message: string;
}

const SPEC_FIELDS = new Set([
  'retry',
  'backoffPolicy',
  'backoffDelay',
  'timeout',
  'retryAfterMax',
  'deadLetterSink',
  'format',
]);
const SINK_FIELDS = new Set(['uri', 'ref']);
const REF_FIELDS = new Set(['kind', 'name', 'namespace', 'apiVersion']);
const INT32_MAX = 2_147_483_647;

/**
 * Apply-time validation of a `spec.delivery` as read from YAML/JSON (hence `unknown`), following Knative's
 * `DeliverySpec.Validate`: `retry` ≥ 0; `backoffPolicy` linear|exponential; `backoffDelay` a duration;
 * `timeout` a duration > 0; `retryAfterMax` a duration ≥ 0; `deadLetterSink` a ref and/or uri (an absolute
 * http(s) uri when alone, a relative one next to a ref). Unknown fields are reported, as a strict Kubernetes
 * apply would. Returns every issue found (empty = valid); `undefined`/`null` is valid (no spec).
 *
 * @param spec - the raw value of the delivery field
 * @param path - the field path used in issues
 * @defaultValue path = `spec.delivery`
 */
export function validateDeliverySpec(spec: unknown, path = 'spec.delivery'): DeliveryIssue[] {
  const issues: DeliveryIssue[] = [];
  if (spec === undefined || spec === null) return issues;
  if (!isRecord(spec)) return [{ path, message: 'expected an object' }];
  const add = (field: string, message: string) => issues.push({ path: `${path}.${field}`, message });

  reportUnknown(spec, SPEC_FIELDS, path, issues);

  const { retry, backoffPolicy, backoffDelay, timeout, retryAfterMax, format } = spec;
  if (retry !== undefined && !(Number.isInteger(retry) && (retry as number) >= 0 && (retry as number) <= INT32_MAX)) {
    add('retry', `expected an integer >= 0, got ${JSON.stringify(retry)}`);
  }
  if (backoffPolicy !== undefined && backoffPolicy !== 'linear' && backoffPolicy !== 'exponential') {
    add('backoffPolicy', `expected "linear" or "exponential", got ${JSON.stringify(backoffPolicy)}`);
  }
  checkDuration(backoffDelay, 'backoffDelay', add);
  if (checkDuration(timeout, 'timeout', add) && tryParseDurationMs(timeout) === 0) {
    add('timeout', `must be greater than zero, got ${JSON.stringify(timeout)}`);
  }
  checkDuration(retryAfterMax, 'retryAfterMax', add);
  if (format !== undefined && format !== 'json' && format !== 'binary') {
    add('format', `expected "json" or "binary", got ${JSON.stringify(format)}`);
  }
  if (spec.deadLetterSink !== undefined) validateSink(spec.deadLetterSink, `${path}.deadLetterSink`, issues);
  return issues;
}

/** Records an issue when `value` is present but not a duration; returns whether it is a valid duration. */
function checkDuration(value: unknown, field: string, add: (field: string, message: string) => void): boolean {
  if (value === undefined) return false;
  const problem = durationProblem(value);
  if (problem !== undefined) add(field, problem);
  return problem === undefined;
}

function validateSink(sink: unknown, path: string, issues: DeliveryIssue[]): void {
  if (!isRecord(sink)) {
    issues.push({ path, message: 'expected an object with "ref" and/or "uri"' });
    return;
  }
  reportUnknown(sink, SINK_FIELDS, path, issues);
  const { uri, ref } = sink;
  if (uri === undefined && ref === undefined) {
    issues.push({ path, message: 'expected "ref" or "uri", got neither' });
    return;
  }
  if (ref !== undefined) validateRef(ref, `${path}.ref`, issues);
  if (uri === undefined) return;
  if (typeof uri !== 'string' || uri === '') {
    issues.push({ path: `${path}.uri`, message: `expected a URL string, got ${JSON.stringify(uri)}` });
    return;
  }
  const absolute = parseAbsolute(uri);
  if (ref !== undefined && absolute !== undefined) {
    issues.push({
      path: `${path}.uri`,
      message: 'must be relative when "ref" is present (it is resolved against the ref)',
    });
  } else if (ref === undefined && (absolute === undefined || !/^https?:$/.test(absolute.protocol))) {
    issues.push({ path: `${path}.uri`, message: `expected an absolute http(s) URL, got ${JSON.stringify(uri)}` });
  }
}

function validateRef(ref: unknown, path: string, issues: DeliveryIssue[]): void {
  if (!isRecord(ref)) {
    issues.push({ path, message: 'expected an object with "kind" and "name"' });
    return;
  }
  reportUnknown(ref, REF_FIELDS, path, issues);
  for (const field of ['kind', 'name'] as const) {
    const value = ref[field];
    if (typeof value !== 'string' || value === '') {
      issues.push({
        path: `${path}.${field}`,
        message: value === undefined ? 'required' : 'expected a non-empty string',
      });
    }
  }
  for (const field of ['namespace', 'apiVersion'] as const) {
    const value = ref[field];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      issues.push({ path: `${path}.${field}`, message: 'expected a non-empty string' });
    }
  }
}

function reportUnknown(obj: Record<string, unknown>, known: Set<string>, path: string, issues: DeliveryIssue[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) issues.push({ path: `${path}.${key}`, message: 'unknown field' });
  }
}

function parseAbsolute(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
