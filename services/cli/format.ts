import { stringify } from 'yaml';
import type { ResourceObject } from './client.ts';

export const REDACTED = '***REDACTED***';
const SECRET_NAME = /token|password|secret|key/i;

/** kubectl-style age: `45s`, `3m20s`, `25m`, `5h10m`, `30h`, `3d4h`, `120d`, `3y20d`. */
export function humanAge(timestamp: string | undefined, now: number = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const then = Date.parse(timestamp);
  if (Number.isNaN(then)) return '<unknown>';
  const seconds = Math.floor((now - then) / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (days < 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** Left-aligned columns separated by three spaces, like kubectl; trailing spaces trimmed. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** A status condition as Knative writes them. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export function conditions(object: ResourceObject): Condition[] {
  const list = object.status?.conditions;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (c): c is Condition => typeof c === 'object' && c !== null && typeof (c as Condition).type === 'string',
  );
}

/** READY and REASON cells: the Ready condition's status ("Unknown" until the controller writes one). */
export function readyCells(object: ResourceObject): [string, string] {
  const ready = conditions(object).find((c) => c.type === 'Ready');
  return [ready?.status ?? 'Unknown', ready?.reason ?? ''];
}

/** Reads a dotted path (`status.address.url`) as a display string; '' when absent. */
export function field(object: unknown, path: string): string {
  let cur: unknown = object;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

function first(object: unknown, ...paths: string[]): string {
  for (const p of paths) {
    const v = field(object, p);
    if (v !== '') return v;
  }
  return '';
}

/** A `{ref: {kind, name}} | {uri}` destination as one cell. */
function destination(object: unknown, path: string): string {
  const uri = field(object, `${path}.uri`);
  const kind = field(object, `${path}.ref.kind`);
  const name = field(object, `${path}.ref.name`);
  const ref = kind || name ? `${kind}/${name}` : '';
  return ref && uri ? `${ref}${uri}` : ref || uri;
}

/**
 * Why a Function has the replicas it has, from `status.scaling`: `concurrency 12.4/7 panic`, `rps 80/140`,
 * `concurrency 0/7 queue 40`, or `fixed` for `spec.replicas`.
 */
function scalingCell(object: ResourceObject): string {
  const s = object.status?.scaling as
    | { mode?: string; metric?: string; value?: number; target?: number; panic?: boolean; queueDepth?: number }
    | undefined;
  if (!s) return '';
  if (s.mode === 'fixed') return 'fixed';
  const parts = [`${s.metric ?? '?'} ${s.value ?? '?'}/${s.target ?? '?'}`];
  if (s.queueDepth !== undefined) parts.push(`queue ${s.queueDepth}`);
  if (s.panic) parts.push('panic');
  return parts.join(' ');
}

/** Kind-specific columns of `get`: header plus how to read the cell. */
interface Column {
  header: string;
  cell(object: ResourceObject): string;
}

const KIND_COLUMNS: Record<string, Column[]> = {
  Broker: [{ header: 'URL', cell: (o) => first(o, 'status.address.url') }],
  Trigger: [
    { header: 'BROKER', cell: (o) => field(o, 'spec.broker') },
    { header: 'SUBSCRIBER_URI', cell: (o) => first(o, 'status.subscriberUri', 'status.subscriberUrl') },
  ],
  PingSource: [
    { header: 'SCHEDULE', cell: (o) => field(o, 'spec.schedule') },
    { header: 'SINK', cell: (o) => first(o, 'status.sinkUri') || destination(o, 'spec.sink') },
  ],
  Function: [
    { header: 'URL', cell: (o) => first(o, 'status.address.url', 'status.url') },
    {
      header: 'REPLICAS',
      cell: (o) => {
        const ready = first(o, 'status.readyReplicas') || '0';
        const desired = first(o, 'status.desiredReplicas', 'status.replicas', 'spec.replicas', 'spec.scaling.minScale');
        return `${ready}/${desired || '?'}`;
      },
    },
    { header: 'SCALING', cell: scalingCell },
  ],
  InferenceService: [{ header: 'URL', cell: (o) => first(o, 'status.url', 'status.address.url') }],
  TrainedModel: [
    { header: 'INFERENCESERVICE', cell: (o) => field(o, 'spec.inferenceService') },
    { header: 'URL', cell: (o) => first(o, 'status.url', 'status.address.url') },
  ],
  BatchJob: [
    { header: 'MODEL', cell: (o) => field(o, 'spec.model') },
    {
      header: 'ROWS',
      cell: (o) => {
        const total = first(o, 'status.rowsTotal');
        return total ? `${first(o, 'status.rowsDone') || '0'}/${total}` : '';
      },
    },
    { header: 'FAILED', cell: (o) => first(o, 'status.rowsFailed') },
  ],
  Secret: [
    { header: 'TYPE', cell: (o) => field(o, 'type') || 'Opaque' },
    { header: 'DATA', cell: (o) => String(secretSizes(o).length) },
  ],
};

/** Extra columns of `-o wide`. */
const WIDE_COLUMNS: Record<string, Column[]> = {
  Trigger: [{ header: 'SUBSCRIBER', cell: (o) => destination(o, 'spec.subscriber') }],
  Function: [{ header: 'HANDLER', cell: (o) => first(o, 'spec.handler', 'spec.image') }],
};

/** Kinds nothing reconciles: no Ready condition will ever come, so their tables have no READY/REASON. */
const UNRECONCILED_KINDS: ReadonlySet<string> = new Set(['Secret']);

/** Options of `formatTable`. */
export interface TableOptions {
  /** Adds a NAMESPACE column first (`-A`). @defaultValue false */
  allNamespaces?: boolean;
  /** Adds APIVERSION and the kind's wide columns (`-o wide`). @defaultValue false */
  wide?: boolean;
  /** Clock for AGE. @defaultValue Date.now() */
  now?: number;
}

/** The `get` table for objects of one kind: NAME, kind columns, AGE, READY, REASON (Knative's order). */
export function formatTable(kind: string, objects: readonly ResourceObject[], options: TableOptions = {}): string {
  const columns = [...(KIND_COLUMNS[kind] ?? []), ...(options.wide ? (WIDE_COLUMNS[kind] ?? []) : [])];
  const reconciled = !UNRECONCILED_KINDS.has(kind);
  const headers = [
    ...(options.allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    ...columns.map((c) => c.header),
    'AGE',
    ...(reconciled ? ['READY', 'REASON'] : []),
    ...(options.wide ? ['APIVERSION'] : []),
  ];
  const rows = objects.map((o) => [
    ...(options.allNamespaces ? [o.metadata.namespace ?? ''] : []),
    o.metadata.name,
    ...columns.map((c) => c.cell(o)),
    humanAge(o.metadata.creationTimestamp, options.now),
    ...(reconciled ? readyCells(o) : []),
    ...(options.wide ? [o.apiVersion] : []),
  ]);
  return renderTable(headers, rows);
}

function redactEnv(env: unknown): unknown {
  if (Array.isArray(env)) {
    return env.map((entry) => {
      if (typeof entry !== 'object' || entry === null) return entry;
      const e = entry as Record<string, unknown>;
      return typeof e.name === 'string' && SECRET_NAME.test(e.name) && 'value' in e ? { ...e, value: REDACTED } : e;
    });
  }
  if (typeof env === 'object' && env !== null) {
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, SECRET_NAME.test(k) ? REDACTED : v]));
  }
  return env;
}

const CREDENTIAL_FIELD = /token|password|secret|accesskey/i;

function redactWalk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactWalk);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // A credential written as a plain string (StorageSource `s3.credentials.*`, `webhook.token`); `{env}` and
    // `{secretKeyRef}` references are objects and stay visible.
    if (typeof v === 'string' && CREDENTIAL_FIELD.test(k)) out[k] = REDACTED;
    else out[k] = k === 'env' ? redactEnv(redactWalk(v)) : redactWalk(v);
  }
  return out;
}

function hideValues(map: unknown): unknown {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return map;
  return Object.fromEntries(Object.keys(map).map((k) => [k, REDACTED]));
}

/** Whether `object` is a Kubernetes core Secret (whose top-level `data`/`stringData` hold the values). */
export function isSecret(object: { apiVersion?: unknown; kind?: unknown }): boolean {
  return object.kind === 'Secret' && (object.apiVersion === 'v1' || object.apiVersion === undefined);
}

/**
 * A copy with secrets hidden: a Secret's `data` and `stringData` values (keys stay visible; kubectl would show
 * them, we never print them), under `spec` every `env` (a `{name, value}` list or a name→value map) whose
 * name matches /token|password|secret|key/i, and every string field named like a credential (`token`,
 * `secretAccessKey`, `accessKeyId`, …). Hidden values show `***REDACTED***`.
 */
export function redact(object: ResourceObject): ResourceObject {
  let out = object;
  if (isSecret(object) && (object.data !== undefined || object.stringData !== undefined)) {
    out = { ...out };
    if (object.data !== undefined) out.data = hideValues(object.data);
    if (object.stringData !== undefined) out.stringData = hideValues(object.stringData);
  }
  if (out.spec === undefined) return out;
  return { ...out, spec: redactWalk(out.spec) as Record<string, unknown> };
}

/** Each value of a Secret and its size in bytes (decoded), `stringData` over `data`; values never leave here. */
export function secretSizes(object: ResourceObject): [string, number][] {
  const sizes = new Map<string, number>();
  const entries = (map: unknown) =>
    typeof map === 'object' && map !== null && !Array.isArray(map) ? Object.entries(map) : [];
  for (const [k, v] of entries(object.data)) if (typeof v === 'string') sizes.set(k, Buffer.byteLength(v, 'base64'));
  for (const [k, v] of entries(object.stringData)) if (typeof v === 'string') sizes.set(k, Buffer.byteLength(v));
  return [...sizes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Output formats of `get`. */
export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

/** JSON/YAML/name rendering: one object as itself, several (or a list query) as a Kubernetes `List`. */
export function formatObjects(
  objects: readonly ResourceObject[],
  format: 'json' | 'yaml' | 'name',
  asList: boolean,
): string {
  if (format === 'name') {
    // Core kinds (apiVersion `v1`, no group) print as `secret/name`, as kubectl does.
    const group = (o: ResourceObject) => (o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '');
    return objects.map((o) => `${o.kind.toLowerCase()}${group(o)}/${o.metadata.name}\n`).join('');
  }
  const shown = objects.map(redact);
  const value = !asList && shown.length === 1 ? shown[0] : { apiVersion: 'v1', kind: 'List', items: shown };
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 });
}
