import { InvalidResourceError } from '../core/errors.ts';
import type { FieldIssue, Resource } from './resources/types.ts';
import { describeObject } from './resources/validate.ts';
import type { ResourceStore } from './store.ts';

export interface AppliedResource {
  object: Resource;
  /** kubectl's words: what the apply did to this object. */
  action: 'created' | 'configured' | 'unchanged';
}

interface Undo {
  previous: Resource | undefined;
  applied: Resource;
}

function keyOf(obj: Resource) {
  return { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

/**
 * Applies several manifests all-or-nothing: every object is first checked with a dry run (schema, hooks,
 * preconditions); if any fails, nothing is written and the error names each object and field path (paths are
 * prefixed `items[i].`). If a real write still fails (a concurrent change), the ones already written are rolled
 * back before the error is rethrown.
 */
export async function applyAll(store: ResourceStore, objects: readonly unknown[]): Promise<AppliedResource[]> {
  const failures: { index: number; err: unknown }[] = [];
  for (const [index, obj] of objects.entries()) {
    try {
      await store.apply(obj, { dryRun: true });
    } catch (err) {
      failures.push({ index, err });
    }
  }
  const first = failures[0];
  if (first !== undefined) {
    if (failures.length === 1) throw first.err;
    if (!failures.every((f) => f.err instanceof InvalidResourceError))
      throw failures.find((f) => !(f.err instanceof InvalidResourceError))!.err;
    const issues: FieldIssue[] = [];
    for (const { index, err } of failures) {
      for (const issue of (err as InvalidResourceError).issues) {
        issues.push({
          path: issue.path === '' ? `items[${index}]` : `items[${index}].${issue.path}`,
          message: issue.message,
        });
      }
    }
    throw new InvalidResourceError(failures.map((f) => (f.err as Error).message).join('\n'), issues);
  }

  const done: Undo[] = [];
  const results: AppliedResource[] = [];
  try {
    for (const obj of objects) {
      const candidate = obj as Resource;
      const previous = await store.get({
        kind: candidate.kind,
        namespace: candidate.metadata.namespace,
        name: candidate.metadata.name,
      });
      const applied = await store.apply(obj);
      done.push({ previous, applied });
      const action =
        previous === undefined
          ? 'created'
          : previous.metadata.resourceVersion === applied.metadata.resourceVersion
            ? 'unchanged'
            : 'configured';
      results.push({ object: applied, action });
    }
  } catch (err) {
    await rollback(store, done);
    throw err;
  }
  return results;
}

async function rollback(store: ResourceStore, done: Undo[]): Promise<void> {
  for (const { previous, applied } of done.reverse()) {
    try {
      if (previous === undefined) await store.delete(keyOf(applied));
      else {
        const { resourceVersion: _rv, ...metadata } = previous.metadata;
        await store.apply({ ...previous, metadata });
      }
    } catch (err) {
      // Best effort: report and keep undoing the rest.
      console.warn(`elastic-serving: could not roll back ${describeObject(applied)}: ${(err as Error).message}`);
    }
  }
}
