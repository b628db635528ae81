import type { ControlClient, ResourceObject } from './client.ts';
import { CliError } from './errors.ts';
import type { ResolvedKind } from './kinds.ts';

/**
 * Drops repeats of one object. The embedded control API keys objects by kind, not group, so the same Trigger
 * answers under our group and Knative's; a cluster with separate CRDs returns distinct objects (distinct uids).
 */
function unique(objects: readonly ResourceObject[]): ResourceObject[] {
  const seen = new Set<string>();
  return objects.filter((o) => {
    const key = o.metadata.uid ?? `${o.apiVersion}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function byNamespaceThenName(a: ResourceObject, b: ResourceObject): number {
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/**
 * Lists a kind across every group it is stored under (ours and Knative's/KServe's) and merges the lists
 * (each object once).
 * `namespace` undefined lists all namespaces.
 * @throws CliError when the server serves the kind under none of its groups (unless `allowUnserved`).
 */
export async function listKind(
  client: ControlClient,
  resolved: ResolvedKind,
  namespace: string | undefined,
  options: { allowUnserved?: boolean } = {},
): Promise<ResourceObject[]> {
  const lists = await Promise.all(resolved.groups.map((gv) => client.list(gv, resolved.info.plural, namespace)));
  if (!options.allowUnserved && lists.every((l) => l === undefined)) {
    throw new CliError(`the server doesn't have a resource type "${resolved.info.plural}"`);
  }
  const items = lists.flatMap((l, i) => {
    const gv = resolved.groups[i]!;
    return (l ?? []).map((o) => ({
      ...o,
      apiVersion: o.apiVersion || `${gv.group}/${gv.version}`,
      kind: o.kind || resolved.info.kind,
    }));
  });
  return unique(items).sort(byNamespaceThenName);
}

/** Every object called `name` of this kind in the namespace, one per group that has one (usually one). */
export async function findByName(
  client: ControlClient,
  resolved: ResolvedKind,
  namespace: string,
  name: string,
): Promise<ResourceObject[]> {
  const found = await Promise.all(resolved.groups.map((gv) => client.get(gv, resolved.info.plural, namespace, name)));
  return unique(found.filter((o): o is ResourceObject => o !== undefined));
}

export function notFound(resolved: ResolvedKind, namespace: string, name: string): CliError {
  return new CliError(`${resolved.info.plural} "${name}" not found in namespace "${namespace}"`);
}
