import { CORE_ATTRIBUTES } from '../../core/cloudevent.ts';
import { validateDeliverySpec } from '../../core/delivery/validate.ts';
import { checkSchedule } from './schedule.ts';

/** One problem found in a PingSource spec, with the dotted path of the offending field. */
export interface PingSourceIssue {
  path: string;
  message: string;
}

const SPEC_FIELDS = new Set(['schedule', 'timezone', 'data', 'dataBase64', 'contentType', 'sink', 'ceOverrides']);
/** Standard base64 with padding, as Go's `base64.StdEncoding` (which Knative uses) requires. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const EXTENSION_NAME = /^[a-z0-9]+$/;

/**
 * Apply-time validation of a PingSource `spec` as read from YAML/JSON, following Knative's
 * `PingSourceSpec.Validate`: the schedule parses (5 fields, or 6 with seconds; no `@every`) in `timezone` or
 * its `CRON_TZ=` prefix; `data` and `dataBase64` are mutually exclusive; `dataBase64` is valid base64; with
 * `contentType: application/json` the data (decoded, for `dataBase64`) is valid JSON; `sink` is a Destination.
 * Unknown fields are reported, as a strict apply would. Returns every issue found (empty = valid).
 *
 * @param spec - the raw value of the spec field
 * @param path - the field path used in issues
 * @defaultValue path = `spec`
 */
export function validatePingSourceSpec(spec: unknown, path = 'spec'): PingSourceIssue[] {
  if (!isRecord(spec)) return [{ path, message: 'expected an object' }];
  const issues: PingSourceIssue[] = [];
  const add = (field: string, message: string) => issues.push({ path: `${path}.${field}`, message });
  for (const key of Object.keys(spec)) if (!SPEC_FIELDS.has(key)) add(key, 'unknown field');

  const { schedule, timezone, data, dataBase64, contentType } = spec;
  for (const [field, value] of [
    ['schedule', schedule],
    ['timezone', timezone],
    ['data', data],
    ['dataBase64', dataBase64],
    ['contentType', contentType],
  ] as const) {
    if (value !== undefined && typeof value !== 'string') add(field, `expected a string, got ${JSON.stringify(value)}`);
  }
  if (schedule === undefined || typeof schedule === 'string') {
    const checked = checkSchedule(schedule ?? '', typeof timezone === 'string' ? timezone : undefined);
    if (!checked.ok) add(checked.problem.field, checked.problem.message);
  }

  const json =
    typeof contentType === 'string' && contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
  if (typeof data === 'string' && data !== '' && typeof dataBase64 === 'string' && dataBase64 !== '') {
    add('dataBase64', 'data and dataBase64 are mutually exclusive (set one)');
  } else if (typeof dataBase64 === 'string' && dataBase64 !== '') {
    const compact = dataBase64.replace(/[\r\n]/g, '');
    if (!BASE64.test(compact)) add('dataBase64', 'not valid base64 (standard alphabet, padded)');
    else if (json && !isJson(Buffer.from(compact, 'base64').toString('utf8'))) {
      add('dataBase64', 'decoded data is not valid JSON, but contentType is application/json');
    }
  } else if (typeof data === 'string' && data !== '' && json && !isJson(data)) {
    add('data', 'not valid JSON, but contentType is application/json');
  }

  if (spec.sink === undefined || spec.sink === null) add('sink', 'required');
  else issues.push(...sinkIssues(spec.sink, `${path}.sink`));
  if (spec.ceOverrides !== undefined) issues.push(...overrideIssues(spec.ceOverrides, `${path}.ceOverrides`));
  return issues;
}

/**
 * A sink is a Knative Destination, validated by the same rules as a dead-letter sink; the delivery validator
 * is reused (and its paths rewritten) so the two never drift apart.
 */
function sinkIssues(sink: unknown, path: string): PingSourceIssue[] {
  const marker = '\u0000';
  return validateDeliverySpec({ deadLetterSink: sink }, marker).map((issue) => ({
    path: path + issue.path.slice(`${marker}.deadLetterSink`.length),
    message: issue.message,
  }));
}

/** Knative `CloudEventOverrides`: only `extensions`, a map of valid, non-core attribute names to strings. */
function overrideIssues(overrides: unknown, path: string): PingSourceIssue[] {
  if (!isRecord(overrides)) return [{ path, message: 'expected an object' }];
  const issues: PingSourceIssue[] = [];
  for (const key of Object.keys(overrides)) {
    if (key !== 'extensions') issues.push({ path: `${path}.${key}`, message: 'unknown field' });
  }
  const { extensions } = overrides;
  if (extensions === undefined) return issues;
  if (!isRecord(extensions)) return [...issues, { path: `${path}.extensions`, message: 'expected a map of strings' }];
  for (const [name, value] of Object.entries(extensions)) {
    const at = `${path}.extensions.${name}`;
    if (!EXTENSION_NAME.test(name))
      issues.push({ path: at, message: 'attribute names are lowercase letters and digits only' });
    else if (CORE_ATTRIBUTES.has(name)) issues.push({ path: at, message: 'a core attribute cannot be overridden' });
    if (typeof value !== 'string')
      issues.push({ path: at, message: `expected a string, got ${JSON.stringify(value)}` });
  }
  return issues;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
