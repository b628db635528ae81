import { ATTRIBUTE_NAME } from './attribute.ts';
import { CesqlParseError, compileCesql } from './cesql/index.ts';
import type { FilterIssue } from './types.ts';

const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;
const DIALECT_SET: ReadonlySet<string> = new Set(DIALECTS);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const BAD_NAME = 'invalid attribute name: must start with a lower-case letter and contain only a-z and 0-9';

type Issues = FilterIssue[];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Appends a key to a path the way the controller renders paths: `.name` or `["odd key"]`. */
function keyPath(path: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Validates a Trigger spec's `filter` and `filters` as read from YAML/JSON (hence `unknown`). Returns every issue
 * (empty = valid).
 *
 * Decisions, following Knative's Trigger webhook (pkg/apis/eventing/v1/trigger_validation.go):
 * - `filter.attributes` keys match `^[a-z][a-z0-9]*$`;
 * - a `filters` element sets at most one dialect; an element with none is allowed and matches everything.
 *   Empty maps, empty lists and an empty `cesql` do not count as set (so `{ exact: {}, cesql: "..." }` passes);
 * - exact / prefix / suffix hold at most one attribute, named like above. Values are not checked: like Knative,
 *   the filter with an empty value is skipped at run time (it matches everything);
 * - all / any / not are validated recursively; an empty all / any list is accepted;
 * - `cesql` must parse; unknown functions are not refused (they are an evaluation error, as in Knative).
 * Stricter than Knative, because YAML is read loosely here: unknown dialect keys (e.g. `sql`), unknown fields
 * under `filter`, and values of the wrong type are reported instead of being dropped.
 *
 * @param spec - the Trigger's `spec`
 * @param path - the path of `spec` used in issues
 * @defaultValue path = `spec`
 */
export function validateTriggerFilter(spec: unknown, path = 'spec'): FilterIssue[] {
  const issues: Issues = [];
  if (spec === undefined || spec === null) return issues;
  if (!isRecord(spec)) return [{ path, message: 'must be an object' }];
  const filter = spec.filter;
  if (filter !== undefined && filter !== null) {
    const filterPath = keyPath(path, 'filter');
    if (!isRecord(filter)) issues.push({ path: filterPath, message: 'must be an object' });
    else {
      for (const key of Object.keys(filter)) {
        if (key !== 'attributes') issues.push({ path: keyPath(filterPath, key), message: 'unknown field' });
      }
      validateAttributeMap(filter.attributes, keyPath(filterPath, 'attributes'), issues, false);
    }
  }
  validateFilterList(spec.filters, keyPath(path, 'filters'), issues);
  return issues;
}

function validateFilterList(list: unknown, path: string, issues: Issues): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) {
    issues.push({ path, message: 'must be a list' });
    return;
  }
  for (const [i, f] of list.entries()) validateDialect(f, `${path}[${i}]`, issues);
}

function isSet(key: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (key === 'cesql') return value !== '';
  if (key === 'not') return true;
  if (Array.isArray(value)) return value.length > 0;
  return !isRecord(value) || Object.keys(value).length > 0;
}

function validateDialect(filter: unknown, path: string, issues: Issues): void {
  if (!isRecord(filter)) {
    issues.push({ path, message: 'must be an object' });
    return;
  }
  for (const key of Object.keys(filter)) {
    if (!DIALECT_SET.has(key)) {
      issues.push({
        path: keyPath(path, key),
        message: `unknown filter dialect (expected one of ${DIALECTS.join(', ')})`,
      });
    }
  }
  const set = DIALECTS.filter((d) => isSet(d, filter[d]));
  if (set.length > 1) {
    issues.push({
      path,
      message: `multiple dialects found (${set.join(', ')}), filters can have only one dialect set`,
    });
  }
  for (const d of ['exact', 'prefix', 'suffix'] as const) validateAttributeMap(filter[d], `${path}.${d}`, issues, true);
  validateFilterList(filter.all, `${path}.all`, issues);
  validateFilterList(filter.any, `${path}.any`, issues);
  if (filter.not !== undefined && filter.not !== null) validateDialect(filter.not, `${path}.not`, issues);
  validateCesql(filter.cesql, `${path}.cesql`, issues);
}

function validateAttributeMap(map: unknown, path: string, issues: Issues, single: boolean): void {
  if (map === undefined || map === null) return;
  if (!isRecord(map)) {
    issues.push({ path, message: 'must be an object' });
    return;
  }
  const keys = Object.keys(map);
  if (single && keys.length > 1) {
    issues.push({ path, message: `multiple attributes found (${keys.join(', ')}), can have only one key-value` });
  }
  for (const key of keys) {
    if (!ATTRIBUTE_NAME.test(key)) issues.push({ path: keyPath(path, key), message: BAD_NAME });
    if (typeof map[key] !== 'string') issues.push({ path: keyPath(path, key), message: 'must be a string' });
  }
}

function validateCesql(expression: unknown, path: string, issues: Issues): void {
  if (expression === undefined || expression === null) return;
  if (typeof expression !== 'string') {
    issues.push({ path, message: 'must be a string' });
    return;
  }
  if (expression === '') return;
  try {
    compileCesql(expression);
  } catch (err) {
    if (!(err instanceof CesqlParseError)) throw err;
    issues.push({ path, message: err.message });
  }
}
