import { UsageError } from './errors.ts';

/** One API path a kind is served under (`/apis/{group}/{version}/…/{plural}`). */
export interface GroupVersion {
  group: string;
  version: string;
}

/** A resource kind the CLI knows by name, and every group it may be stored under. */
export interface KindInfo {
  /** `kind` as written in YAML, e.g. `Trigger`. */
  kind: string;
  /** Lower-case plural used in API paths, e.g. `triggers`. */
  plural: string;
  singular: string;
  shortNames: readonly string[];
  /** Our group first; Knative/KServe groups whose YAML applies unchanged after it. */
  groups: readonly GroupVersion[];
}

const ES_EVENTING: GroupVersion = { group: 'eventing.elastic-serving.dev', version: 'v1' };
const KN_EVENTING: GroupVersion = { group: 'eventing.knative.dev', version: 'v1' };
const ES_SOURCES: GroupVersion = { group: 'sources.elastic-serving.dev', version: 'v1' };
const KN_SOURCES: GroupVersion = { group: 'sources.knative.dev', version: 'v1' };
const ES_SERVING: GroupVersion = { group: 'serving.elastic-serving.dev', version: 'v1' };
const ES_SERVING_ALPHA: GroupVersion = { group: 'serving.elastic-serving.dev', version: 'v1alpha1' };
const KSERVE_V1BETA1: GroupVersion = { group: 'serving.kserve.io', version: 'v1beta1' };
const KSERVE_V1ALPHA1: GroupVersion = { group: 'serving.kserve.io', version: 'v1alpha1' };
const CORE_V1: GroupVersion = { group: '', version: 'v1' };

export const KINDS: readonly KindInfo[] = [
  { kind: 'Broker', plural: 'brokers', singular: 'broker', shortNames: ['brk'], groups: [ES_EVENTING, KN_EVENTING] },
  { kind: 'Trigger', plural: 'triggers', singular: 'trigger', shortNames: ['trg'], groups: [ES_EVENTING, KN_EVENTING] },
  {
    kind: 'PingSource',
    plural: 'pingsources',
    singular: 'pingsource',
    shortNames: ['ping'],
    groups: [ES_SOURCES, KN_SOURCES],
  },
  { kind: 'StorageSource', plural: 'storagesources', singular: 'storagesource', shortNames: [], groups: [ES_SOURCES] },
  { kind: 'WebhookSource', plural: 'webhooksources', singular: 'webhooksource', shortNames: [], groups: [ES_SOURCES] },
  { kind: 'KafkaSource', plural: 'kafkasources', singular: 'kafkasource', shortNames: [], groups: [ES_SOURCES] },
  { kind: 'Function', plural: 'functions', singular: 'function', shortNames: ['fn'], groups: [ES_SERVING] },
  {
    kind: 'InferenceService',
    plural: 'inferenceservices',
    singular: 'inferenceservice',
    shortNames: ['isvc'],
    groups: [ES_SERVING, KSERVE_V1BETA1],
  },
  {
    kind: 'TrainedModel',
    plural: 'trainedmodels',
    singular: 'trainedmodel',
    shortNames: ['tm'],
    groups: [ES_SERVING_ALPHA, KSERVE_V1ALPHA1],
  },
  { kind: 'BatchJob', plural: 'batchjobs', singular: 'batchjob', shortNames: ['bj'], groups: [ES_SERVING_ALPHA] },
  { kind: 'Secret', plural: 'secrets', singular: 'secret', shortNames: [], groups: [CORE_V1] },
];

/** What `get triggers.eventing.knative.dev` and friends resolve to: a kind, narrowed to the groups asked for. */
export interface ResolvedKind {
  info: KindInfo;
  groups: readonly GroupVersion[];
}

function matchesName(info: KindInfo, name: string): boolean {
  return (
    name === info.plural || name === info.singular || info.shortNames.includes(name) || name === info.kind.toLowerCase()
  );
}

/**
 * Resolves a kind as typed on the command line: singular, plural or short name, case-insensitive, optionally
 * qualified by group like kubectl (`trigger.eventing.knative.dev`) to pick one API group.
 * @throws UsageError naming the kinds it knows.
 */
export function resolveKind(typed: string): ResolvedKind {
  const lower = typed.trim().toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot === -1 ? lower : lower.slice(0, dot);
  const group = dot === -1 ? undefined : lower.slice(dot + 1);
  const info = KINDS.find((k) => matchesName(k, name));
  if (!info) {
    throw new UsageError(`unknown resource type "${typed}"`, [`known types: ${KINDS.map((k) => k.plural).join(', ')}`]);
  }
  if (group === undefined) return { info, groups: info.groups };
  const groups = info.groups.filter((g) => g.group === group);
  if (groups.length === 0) {
    throw new UsageError(`resource type "${info.plural}" is not served in group "${group}"`, [
      `groups: ${info.groups.map((g) => g.group).join(', ')}`,
    ]);
  }
  return { info, groups };
}

/** Splits an apiVersion (`group/version`; a bare `v1` is the core group, where Secret lives). */
export function parseApiVersion(apiVersion: string): GroupVersion {
  if (apiVersion === 'v1') return { group: '', version: 'v1' };
  const slash = apiVersion.indexOf('/');
  if (slash <= 0 || slash === apiVersion.length - 1 || apiVersion.indexOf('/', slash + 1) !== -1) {
    throw new UsageError(`apiVersion "${apiVersion}" must be group/version, e.g. eventing.elastic-serving.dev/v1`);
  }
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * The plural for a manifest's `kind`. Unknown kinds still get a path (lower-case + "s") so the server, which may
 * know more kinds than this CLI, answers for itself.
 */
export function pluralForKind(kind: string): string {
  const info = KINDS.find((k) => k.kind.toLowerCase() === kind.toLowerCase());
  if (info) return info.plural;
  const lower = kind.toLowerCase();
  if (lower.endsWith('y') && !/[aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

/** kubectl's `trigger.eventing.knative.dev` form, used in every line the CLI prints about an object. */
export function qualifiedKind(kind: string, group: string): string {
  return group === '' ? kind.toLowerCase() : `${kind.toLowerCase()}.${group}`;
}
