import type { z } from 'zod';
import type { Strictness } from './common.ts';
import { brokerAnnotationIssues, brokerSpecSchema, triggerAnnotationIssues, triggerSpecSchema } from './eventing.ts';
import { inferenceServiceSpecSchema, trainedModelSpecSchema } from './inference.ts';
import { secretIssues, secretSpecSchema } from './secrets.ts';
import { batchJobSpecSchema, functionSpecSchema } from './serving.ts';
import { pingSourceSpecSchema, storageSourceSpecSchema } from './sources.ts';
import type { FieldIssue } from './types.ts';

/** Everything the store, the API and the CLI need to know about one kind, whatever group it is written in. */
export interface KindInfo {
  /** Canonical, group-agnostic kind: the store keys objects by it. */
  kind: string;
  /** REST resource name. */
  plural: string;
  singular: string;
  shortNames: readonly string[];
  /** Our own apiVersion for this kind (the preferred one). */
  preferredApiVersion: string;
  /** Every apiVersion accepted for this kind (ours first, then Knative's/KServe's). */
  apiVersions: readonly string[];
  specRequired: boolean;
  specSchema(mode: Strictness): z.ZodType;
  annotationIssues?(annotations: Record<string, string>): FieldIssue[];
  /** Checks of fields outside `spec`, for kinds that keep their content at the top level (Secret). */
  topLevelIssues?(obj: Record<string, unknown>): FieldIssue[];
}

export const EVENTING = 'eventing.elastic-serving.dev';
export const SOURCES = 'sources.elastic-serving.dev';
export const SERVING = 'serving.elastic-serving.dev';

export const KINDS: readonly KindInfo[] = [
  {
    kind: 'Broker',
    plural: 'brokers',
    singular: 'broker',
    shortNames: [],
    preferredApiVersion: `${EVENTING}/v1`,
    apiVersions: [`${EVENTING}/v1`, 'eventing.knative.dev/v1'],
    specRequired: false,
    specSchema: brokerSpecSchema,
    annotationIssues: brokerAnnotationIssues,
  },
  {
    kind: 'Trigger',
    plural: 'triggers',
    singular: 'trigger',
    shortNames: [],
    preferredApiVersion: `${EVENTING}/v1`,
    apiVersions: [`${EVENTING}/v1`, 'eventing.knative.dev/v1'],
    specRequired: true,
    specSchema: triggerSpecSchema,
    annotationIssues: triggerAnnotationIssues,
  },
  {
    kind: 'PingSource',
    plural: 'pingsources',
    singular: 'pingsource',
    shortNames: [],
    preferredApiVersion: `${SOURCES}/v1`,
    apiVersions: [`${SOURCES}/v1`, 'sources.knative.dev/v1', 'sources.knative.dev/v1beta2'],
    specRequired: true,
    specSchema: pingSourceSpecSchema,
  },
  {
    kind: 'StorageSource',
    plural: 'storagesources',
    singular: 'storagesource',
    shortNames: [],
    preferredApiVersion: `${SOURCES}/v1`,
    apiVersions: [`${SOURCES}/v1`],
    specRequired: true,
    specSchema: storageSourceSpecSchema,
  },
  {
    kind: 'Function',
    plural: 'functions',
    singular: 'function',
    shortNames: ['fn', 'func'],
    preferredApiVersion: `${SERVING}/v1`,
    apiVersions: [`${SERVING}/v1`],
    specRequired: true,
    specSchema: functionSpecSchema,
  },
  {
    kind: 'InferenceService',
    plural: 'inferenceservices',
    singular: 'inferenceservice',
    shortNames: ['isvc'],
    preferredApiVersion: `${SERVING}/v1`,
    apiVersions: [`${SERVING}/v1`, 'serving.kserve.io/v1beta1'],
    specRequired: true,
    specSchema: inferenceServiceSpecSchema,
  },
  {
    kind: 'TrainedModel',
    plural: 'trainedmodels',
    singular: 'trainedmodel',
    shortNames: ['tm'],
    preferredApiVersion: `${SERVING}/v1alpha1`,
    apiVersions: [`${SERVING}/v1alpha1`, 'serving.kserve.io/v1alpha1'],
    specRequired: true,
    specSchema: trainedModelSpecSchema,
  },
  {
    kind: 'BatchJob',
    plural: 'batchjobs',
    singular: 'batchjob',
    shortNames: [],
    preferredApiVersion: `${SERVING}/v1alpha1`,
    apiVersions: [`${SERVING}/v1alpha1`],
    specRequired: true,
    specSchema: batchJobSpecSchema,
  },
  {
    // Kubernetes core v1 Secret: no group, no spec; its fields are checked by secretIssues (secrets.ts).
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    shortNames: [],
    preferredApiVersion: 'v1',
    apiVersions: ['v1'],
    specRequired: false,
    specSchema: secretSpecSchema,
    topLevelIssues: secretIssues,
  },
];

const OUR_GROUPS: ReadonlySet<string> = new Set([EVENTING, SOURCES, SERVING]);

const byName = new Map<string, KindInfo>();
for (const info of KINDS) {
  for (const name of [info.kind, info.plural, info.singular, ...info.shortNames]) byName.set(name.toLowerCase(), info);
}

/** Looks a kind up by kind, plural, singular or short name, case-insensitively (`Trigger`, `triggers`, `isvc`). */
export function kindInfo(name: string): KindInfo | undefined {
  return byName.get(name.toLowerCase());
}

/** The kind `kind` as written under `apiVersion`, if we accept that pairing. */
export function kindForApiVersion(apiVersion: string, kind: string): KindInfo | undefined {
  const info = KINDS.find((k) => k.kind === kind);
  return info?.apiVersions.includes(apiVersion) ? info : undefined;
}

/** Splits `group/version` (core `v1` has no group). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Our own groups validate strictly; foreign (Knative, KServe) shapes loosely. */
export function strictnessOf(apiVersion: string): Strictness {
  return OUR_GROUPS.has(splitApiVersion(apiVersion).group) ? 'strict' : 'loose';
}

/** One served group/version and the kinds under it (for discovery and routing). */
export interface GroupVersion {
  group: string;
  version: string;
  kinds: KindInfo[];
}

let served: GroupVersion[] | undefined;

export function servedGroupVersions(): GroupVersion[] {
  served ??= computeGroupVersions();
  return served;
}

function computeGroupVersions(): GroupVersion[] {
  const out = new Map<string, GroupVersion>();
  for (const info of KINDS) {
    for (const apiVersion of info.apiVersions) {
      const { group, version } = splitApiVersion(apiVersion);
      let gv = out.get(apiVersion);
      if (gv === undefined) {
        gv = { group, version, kinds: [] };
        out.set(apiVersion, gv);
      }
      gv.kinds.push(info);
    }
  }
  return [...out.values()];
}
