import type { z } from 'zod';
import { InvalidResourceError } from '../../core/errors.ts';
import type { DeliverySpec } from './common.ts';
import { metadataSchema } from './common.ts';
import type { TriggerSpec } from './eventing.ts';
import { KINDS, type KindInfo, kindForApiVersion, strictnessOf } from './kinds.ts';
import type { FieldIssue, Resource } from './types.ts';

/**
 * Checks owned by other modules (filters and delivery live in services/core), plugged in so this folder does not
 * depend on them. Returned paths are relative to what the hook was given (`filters[0].cesql` for a Trigger spec,
 * `backoffDelay` for a DeliverySpec); a path already starting at `spec` is taken as is.
 */
export interface ValidationHooks {
  /** Validates a Trigger's `filter`/`filters`. @defaultValue no extra checks */
  validateTriggerFilter?: (spec: TriggerSpec) => FieldIssue[];
  /** Validates a DeliverySpec (Broker and Trigger `spec.delivery`). @defaultValue no extra checks */
  validateDelivery?: (delivery: DeliverySpec) => FieldIssue[];
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Renders a path as `spec.filters[0]["odd key"]`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function joinPath(prefix: string, path: string): string {
  if (path === '') return prefix;
  if (prefix === '' || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`) || path === prefix) return path;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  array: 'a list',
  record: 'an object',
};

/** Messages a user can act on: "is required", "must be a string", "unknown field". */
function messageFor(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `must be ${EXPECTED[issue.expected] ?? issue.expected}`;
  }
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map((v) => String(v)).join('|')}`;
  return undefined;
}

function zodIssues(schema: z.ZodType, value: unknown, prefix: string): FieldIssue[] {
  const result = schema.safeParse(value, { error: messageFor });
  if (result.success) return [];
  const out: FieldIssue[] = [];
  for (const issue of result.error.issues) {
    const path = joinPath(prefix, formatPath(issue.path));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: joinPath(path, formatPath([key])), message: 'unknown field' });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How an object is named in messages: `Trigger default/t1`. */
export function describeObject(obj: unknown): string {
  const rec = isRecord(obj) ? obj : {};
  const meta = isRecord(rec.metadata) ? rec.metadata : {};
  const kind = typeof rec.kind === 'string' && rec.kind !== '' ? rec.kind : 'object';
  const ns = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : '<unnamed>';
  return `${kind} ${ns}/${name}`;
}

/** Every problem in `obj`, and its kind when the kind is one we accept. */
export function checkResource(obj: unknown, hooks: ValidationHooks = {}): { info?: KindInfo; issues: FieldIssue[] } {
  if (!isRecord(obj)) return { issues: [{ path: '', message: 'a resource must be an object' }] };
  const issues: FieldIssue[] = [];
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || apiVersion === '') issues.push({ path: 'apiVersion', message: 'is required' });
  if (typeof kind !== 'string' || kind === '') issues.push({ path: 'kind', message: 'is required' });
  issues.push(...zodIssues(metadataSchema, obj.metadata, 'metadata'));
  if (issues.length > 0 || typeof apiVersion !== 'string' || typeof kind !== 'string') return { issues };

  const info = kindForApiVersion(apiVersion, kind);
  if (info === undefined) {
    const known = KINDS.find((k) => k.kind === kind);
    if (known === undefined) {
      issues.push({ path: 'kind', message: `unknown kind (accepted: ${KINDS.map((k) => k.kind).join(', ')})` });
    } else {
      issues.push({ path: 'apiVersion', message: `must be one of ${known.apiVersions.join(', ')} for ${kind}` });
    }
    return { issues };
  }

  if (obj.spec === undefined && !info.specRequired) {
    // A Broker may omit spec altogether.
  } else {
    issues.push(...zodIssues(info.specSchema(strictnessOf(apiVersion)), obj.spec, 'spec'));
  }
  const annotations = (obj.metadata as { annotations?: Record<string, string> }).annotations;
  if (annotations !== undefined && info.annotationIssues !== undefined)
    issues.push(...info.annotationIssues(annotations));
  if (info.topLevelIssues !== undefined) issues.push(...info.topLevelIssues(obj));

  if (issues.length === 0 && isRecord(obj.spec)) {
    if (info.kind === 'Trigger' && hooks.validateTriggerFilter !== undefined) {
      for (const i of hooks.validateTriggerFilter(obj.spec as unknown as TriggerSpec)) {
        issues.push({ path: joinPath('spec', i.path), message: i.message });
      }
    }
    if ((info.kind === 'Trigger' || info.kind === 'Broker') && isRecord(obj.spec.delivery)) {
      for (const i of hooks.validateDelivery?.(obj.spec.delivery as DeliverySpec) ?? []) {
        issues.push({ path: joinPath('spec.delivery', i.path), message: i.message });
      }
    }
  }
  return { info, issues };
}

/** Formats issues as one message: `Trigger default/t1: spec.subscriber: ref or uri is required`. */
export function issuesMessage(obj: unknown, issues: readonly FieldIssue[]): string {
  const parts = issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`));
  return `${describeObject(obj)}: ${parts.join('; ')}`;
}

/**
 * Validates one resource against its kind's schema (ours strictly, Knative/KServe loosely) and the hooks.
 * Returns the object itself, unchanged; throws `InvalidResourceError` whose message and `issues` name every
 * field path at fault.
 */
export function validateResource(obj: unknown, hooks: ValidationHooks = {}): Resource {
  const { issues } = checkResource(obj, hooks);
  if (issues.length > 0) throw new InvalidResourceError(issuesMessage(obj, issues), issues);
  return obj as Resource;
}
