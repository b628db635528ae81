import { ApiError, type ControlClient, type ResourceObject, type WriteOptions } from './client.ts';
import { CliError } from './errors.ts';
import { REDACTED } from './format.ts';
import { parseApiVersion, pluralForKind, qualifiedKind } from './kinds.ts';
import type { Manifest } from './manifests.ts';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

/** What happened to one manifest; `previous` is the object before a `configured` write (for rollback). */
export interface ApplyResult {
  manifest: Manifest;
  /** `trigger.eventing.elastic-serving.dev/iris-infer` */
  ref: string;
  outcome: ApplyOutcome;
  previous?: ResourceObject;
}

const SERVER_OWNED_META = ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields', 'selfLink'];

/** The object as we send it: no status, no server-owned metadata (so `get -o yaml` output re-applies). */
export function desiredObject(object: ResourceObject): ResourceObject {
  const { status: _status, ...rest } = object;
  const metadata = { ...object.metadata };
  for (const key of SERVER_OWNED_META) delete metadata[key];
  return { ...rest, metadata };
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function emptyToUndefined(map: Record<string, string> | undefined): Record<string, string> | undefined {
  return map && Object.keys(map).length > 0 ? map : undefined;
}

/** True when applying `desired` would change nothing the user wrote: spec-like fields, labels, annotations. */
export function sameContent(desired: ResourceObject, existing: ResourceObject): boolean {
  const skip = new Set(['apiVersion', 'kind', 'metadata', 'status']);
  const keys = new Set([...Object.keys(desired), ...Object.keys(existing)].filter((k) => !skip.has(k)));
  for (const key of keys) if (canonical(desired[key]) !== canonical(existing[key])) return false;
  return (
    canonical(emptyToUndefined(desired.metadata.labels)) === canonical(emptyToUndefined(existing.metadata.labels)) &&
    canonical(emptyToUndefined(desired.metadata.annotations)) ===
      canonical(emptyToUndefined(existing.metadata.annotations))
  );
}

function containsRedacted(value: unknown): boolean {
  if (value === REDACTED) return true;
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).some(containsRedacted);
}

function target(object: ResourceObject): {
  gv: ReturnType<typeof parseApiVersion>;
  plural: string;
  ns: string;
  ref: string;
} {
  const gv = parseApiVersion(object.apiVersion);
  return {
    gv,
    plural: pluralForKind(object.kind),
    ns: object.metadata.namespace ?? 'default',
    ref: `${qualifiedKind(object.kind, gv.group)}/${object.metadata.name}`,
  };
}

/**
 * Create-or-update of one object: GET, then POST or a PUT carrying the read resourceVersion; one retry on 409.
 * With `dryRun` the server validates the write and stores nothing.
 */
export async function applyOne(
  client: ControlClient,
  manifest: Manifest,
  options: WriteOptions = {},
): Promise<ApplyResult> {
  const desired = desiredObject(manifest.object);
  const { gv, plural, ns, ref } = target(desired);
  for (let attempt = 0; ; attempt++) {
    try {
      const existing = await client.get(gv, plural, ns, desired.metadata.name);
      if (!existing) {
        await client.create(gv, plural, ns, desired, options);
        return { manifest, ref, outcome: 'created' };
      }
      if (sameContent(desired, existing)) return { manifest, ref, outcome: 'unchanged' };
      const update = {
        ...desired,
        metadata: { ...desired.metadata, resourceVersion: existing.metadata.resourceVersion },
      };
      await client.replace(gv, plural, ns, update, options);
      return { manifest, ref, outcome: 'configured', previous: existing };
    } catch (err) {
      // 409: someone wrote between our GET and our write (stale resourceVersion, or created meanwhile). Re-read once.
      if (err instanceof ApiError && err.status === 409 && attempt === 0) continue;
      throw err;
    }
  }
}

/** Undoes earlier writes of a failed apply, newest first; returns one line per object for the user. */
export async function rollback(client: ControlClient, results: readonly ApplyResult[]): Promise<string[]> {
  const lines: string[] = [];
  for (const result of [...results].reverse()) {
    if (result.outcome === 'unchanged') continue;
    const object = result.manifest.object;
    const { gv, plural, ns, ref } = target(object);
    try {
      if (result.outcome === 'created') {
        await client.delete(gv, plural, ns, object.metadata.name);
        lines.push(`${ref} rolled back (deleted)`);
      } else if (result.previous) {
        const current = await client.get(gv, plural, ns, object.metadata.name);
        const restored = desiredObject(result.previous);
        restored.metadata.resourceVersion = current?.metadata.resourceVersion;
        await client.replace(gv, plural, ns, restored);
        lines.push(`${ref} rolled back (previous version restored)`);
      }
    } catch (err) {
      lines.push(`${ref} could not be rolled back: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return lines;
}

/**
 * Server-side dry run of every manifest: each write is validated by the server, nothing is stored. Collects
 * every refusal (with its field paths) so the user fixes them all in one go.
 * @throws CliError "nothing applied" listing each refused object and its invalid fields.
 */
export async function dryRunAll(client: ControlClient, manifests: readonly Manifest[]): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  const problems: string[] = [];
  for (const manifest of manifests) {
    try {
      results.push(await applyOne(client, manifest, { dryRun: true }));
    } catch (err) {
      if (!(err instanceof ApiError) || err.status >= 500 || err.status === 401 || err.status === 403) throw err;
      // A 404 on a write means the collection itself is unknown: say which kind/apiVersion, not just "not found".
      const message =
        err.status === 404
          ? `the server does not serve kind ${manifest.object.kind} in ${manifest.object.apiVersion}`
          : err.message;
      problems.push(
        `${target(manifest.object).ref} (${manifest.origin}): ${message}`,
        ...err.details.map((d) => `  ${d}`),
      );
    }
  }
  if (problems.length > 0) {
    const refused = problems.filter((p) => !p.startsWith('  ')).length;
    throw new CliError(`nothing applied: the server refused ${refused} object${refused === 1 ? '' : 's'}`, {
      details: problems,
    });
  }
  return results;
}

/** Options of `applyManifests`. */
export interface ApplyOptions {
  /** Only validate on the server and print what would happen. @defaultValue false */
  dryRun?: boolean;
}

/**
 * Applies manifests in order, printing kubectl's `<kind.group>/<name> created|configured|unchanged` per object.
 * Every write is first validated by a server-side dry run, so one invalid object stops all of them; a refusal
 * during the real pass (a race) undoes what this run already wrote, so an apply lands whole or not at all.
 */
export async function applyManifests(
  client: ControlClient,
  manifests: readonly Manifest[],
  print: (line: string) => void,
  warn: (line: string) => void,
  options: ApplyOptions = {},
): Promise<ApplyResult[]> {
  const redacted = manifests.filter((m) => containsRedacted(m.object.spec));
  if (redacted.length > 0) {
    throw new CliError('nothing applied: manifests contain redacted values (output of `get -o yaml`)', {
      details: redacted.map((m) => `${m.origin}: put the real value back where it says ${REDACTED}`),
    });
  }
  const planned = await dryRunAll(client, manifests);
  if (options.dryRun) {
    for (const r of planned) print(`${r.ref} ${r.outcome} (server dry run)`);
    return planned;
  }
  const results: ApplyResult[] = [];
  for (const manifest of manifests) {
    let result: ApplyResult;
    try {
      result = await applyOne(client, manifest);
    } catch (err) {
      const undone = await rollback(client, results);
      for (const line of undone) warn(line);
      if (!(err instanceof CliError)) throw err;
      const { ref } = target(manifest.object);
      const suffix = results.some((r) => r.outcome !== 'unchanged')
        ? '; earlier objects of this apply were rolled back'
        : '';
      throw new CliError(`${ref} (${manifest.origin}): ${err.message}${suffix}`, { details: err.details, cause: err });
    }
    results.push(result);
    print(`${result.ref} ${result.outcome}`);
  }
  return results;
}
