import { type KindInfo, servedGroupVersions } from './resources/kinds.ts';

/**
 * Kubernetes discovery documents. @kubernetes/client-node's generic KubernetesObjectApi reads
 * `/apis/{group}/{version}` to turn a kind into its plural, so those must be right; the rest is minimal.
 */
const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function groups(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const gv of servedGroupVersions()) {
    // The core group (Secret) is served at /api, not listed among the named groups.
    if (gv.group === '') continue;
    const versions = out.get(gv.group) ?? [];
    versions.push(gv.version);
    out.set(gv.group, versions);
  }
  return out;
}

function apiGroup(name: string, versions: string[]) {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0]! };
}

export function apiGroupList() {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups()].map(([name, versions]) => apiGroup(name, versions)),
  };
}

export function apiGroupDoc(group: string) {
  const versions = groups().get(group);
  return versions === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, versions) };
}

export function apiResourceList(group: string, version: string) {
  const gv = servedGroupVersions().find((g) => g.group === group && g.version === version);
  if (gv === undefined) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${group}/${version}`,
    resources: gv.kinds.flatMap((info: KindInfo) => [
      {
        name: info.plural,
        singularName: info.singular,
        namespaced: true,
        kind: info.kind,
        verbs: VERBS,
        ...(info.shortNames.length > 0 ? { shortNames: [...info.shortNames] } : {}),
      },
      {
        name: `${info.plural}/status`,
        singularName: '',
        namespaced: true,
        kind: info.kind,
        verbs: ['get', 'patch', 'update'],
      },
    ]),
  };
}

/** `/api`: the core group's versions. */
export function coreApiVersions() {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
}

/** The kind served at `/apis/{group}/{version}/.../{plural}`, if any. */
export function kindAt(group: string, version: string, plural: string): KindInfo | undefined {
  return servedGroupVersions()
    .find((g) => g.group === group && g.version === version)
    ?.kinds.find((k) => k.plural === plural);
}
