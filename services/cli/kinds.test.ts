import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.ts';
import { parseApiVersion, pluralForKind, qualifiedKind, resolveKind } from './kinds.ts';

describe('resolveKind', () => {
  it.each([
    ['broker', 'Broker'],
    ['Brokers', 'Broker'],
    ['trigger', 'Trigger'],
    ['TRIGGERS', 'Trigger'],
    ['pingsource', 'PingSource'],
    ['pingsources', 'PingSource'],
    ['function', 'Function'],
    ['functions', 'Function'],
    ['fn', 'Function'],
    ['inferenceservice', 'InferenceService'],
    ['isvc', 'InferenceService'],
    ['trainedmodels', 'TrainedModel'],
    ['tm', 'TrainedModel'],
    ['batchjob', 'BatchJob'],
    ['batchjobs', 'BatchJob'],
  ])('%s → %s', (typed, kind) => {
    expect(resolveKind(typed).info.kind).toBe(kind);
  });

  it('covers our group and the Knative group for triggers, ours first', () => {
    expect(resolveKind('triggers').groups.map((g) => `${g.group}/${g.version}`)).toEqual([
      'eventing.elastic-serving.dev/v1',
      'eventing.knative.dev/v1',
    ]);
  });

  it('narrows to one group when qualified like kubectl', () => {
    const r = resolveKind('trigger.eventing.knative.dev');
    expect(r.info.plural).toBe('triggers');
    expect(r.groups).toEqual([{ group: 'eventing.knative.dev', version: 'v1' }]);
  });

  it('refuses unknown kinds and groups with a usage error listing what it knows', () => {
    expect(() => resolveKind('pods')).toThrow(UsageError);
    try {
      resolveKind('pods');
    } catch (err) {
      expect((err as UsageError).exitCode).toBe(2);
      expect((err as UsageError).details.join()).toContain('triggers');
    }
    expect(() => resolveKind('trigger.example.com')).toThrow(/not served in group "example.com"/);
  });
});

describe('apiVersion and plurals', () => {
  it('splits group/version, takes the core v1, and refuses malformed versions', () => {
    expect(parseApiVersion('serving.elastic-serving.dev/v1alpha1')).toEqual({
      group: 'serving.elastic-serving.dev',
      version: 'v1alpha1',
    });
    expect(parseApiVersion('v1')).toEqual({ group: '', version: 'v1' });
    expect(() => parseApiVersion('v2')).toThrow(UsageError);
    expect(() => parseApiVersion('a/b/c')).toThrow(UsageError);
  });

  it('maps known kinds to their plural and guesses others the Kubernetes way', () => {
    expect(pluralForKind('InferenceService')).toBe('inferenceservices');
    expect(pluralForKind('trigger')).toBe('triggers');
    expect(pluralForKind('Policy')).toBe('policies');
    expect(pluralForKind('Gateway')).toBe('gateways');
    expect(pluralForKind('Ingress')).toBe('ingresses');
    expect(qualifiedKind('Trigger', 'eventing.knative.dev')).toBe('trigger.eventing.knative.dev');
  });
});
