import { describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../../core/errors.ts';
import { brokerChannel, triggerFlowControl } from './eventing.ts';
import { kindInfo } from './kinds.ts';
import { parseManifests } from './parse.ts';
import { resolveFunctionSpec } from './serving.ts';
import { validateResource } from './validate.ts';

const KNATIVE_YAML = `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: default
  annotations:
    eventing.knative.dev/broker.class: MTChannelBasedBroker
spec:
  config:
    apiVersion: v1
    kind: ConfigMap
    name: config-br-default-channel
    namespace: knative-eventing
  delivery:
    retry: 3
    backoffPolicy: exponential
    backoffDelay: PT0.2S
    deadLetterSink:
      ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dlq }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: my-service-trigger
  labels: { app: demo }
spec:
  broker: default
  filter:
    attributes:
      type: dev.knative.foo.bar
      myextension: my-extension-value
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: my-service
    uri: /my-custom-path
    CACerts: "-----BEGIN CERTIFICATE-----"
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: new-filters }
spec:
  broker: default
  filters:
    - any:
        - exact: { type: com.github.push }
        - prefix: { type: com.gitlab }
    - cesql: "source LIKE '%commerce%'"
  subscriber: { uri: http://example.com/ }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: test-ping-source }
spec:
  schedule: "*/1 * * * *"
  contentType: "application/json"
  data: '{"message": "Hello world!"}'
  ceOverrides: { extensions: { extra: value } }
  sink:
    ref: { apiVersion: v1, kind: Service, name: event-display }
---
apiVersion: sources.knative.dev/v1beta2
kind: PingSource
metadata: { name: seconds }
spec:
  schedule: "CRON_TZ=Europe/Paris 0 */5 * * * *"
  dataBase64: "ZGF0YQ=="
  sink: { uri: "http://127.0.0.1:9000" }
---
apiVersion: serving.kserve.io/v1alpha1
kind: TrainedModel
metadata: { name: iris }
spec:
  inferenceService: sklearn-iris
  model: { storageUri: gs://kfserving-examples/models/sklearn/iris, framework: sklearn, memory: 256Mi }
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: { name: sklearn-iris }
spec:
  predictor:
    model: { modelFormat: { name: sklearn }, storageUri: gs://kfserving-examples/models/sklearn/1.0/model }
`;

const OURS = `
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata:
  name: iris-infer
  namespace: default
  annotations:
    eventing.elastic-serving.dev/delivery.order: ordered
    eventing.elastic-serving.dev/delivery.max-in-flight: "20"
spec:
  broker: default
  filters:
    - exact: { type: dev.elasticserving.inference.request }
    - cesql: "model = 'iris' AND (source LIKE '/clients/%')"
  subscriber: { ref: { kind: InferenceService, name: iris } }
  delivery: { retry: 5, backoffPolicy: exponential, backoffDelay: PT0.2S, timeout: PT30S,
              deadLetterSink: { uri: http://localhost:9999/dlq } }
---
apiVersion: serving.elastic-serving.dev/v1
kind: Function
metadata: { name: echo }
spec:
  handler: functions/examples/echo/index.ts
  containerConcurrency: 10
  timeoutSeconds: 60
  scaling: { minScale: 0, maxScale: 10, metric: concurrency, target: 10, targetUtilization: 0.7,
             queue: { lagPerReplica: 20 } }
`;

function issuesOf(obj: unknown): { message: string; issues: readonly { path: string; message: string }[] } {
  try {
    validateResource(obj);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidResourceError);
    const e = err as InvalidResourceError;
    return { message: e.message, issues: e.issues };
  }
  throw new Error('expected the resource to be refused');
}

function trigger(spec: unknown, extra: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'eventing.elastic-serving.dev/v1', kind: 'Trigger', metadata: { name: 't1' }, spec, ...extra };
}

describe('validateResource', () => {
  it('accepts Knative and KServe YAML unchanged and returns the same object', () => {
    const docs = parseManifests(KNATIVE_YAML);
    expect(docs).toHaveLength(7);
    for (const doc of docs) {
      const copy = structuredClone(doc);
      expect(validateResource(doc)).toBe(doc);
      expect(doc).toEqual(copy);
    }
  });

  it('accepts our own groups (DESIGN §5 example)', () => {
    for (const doc of parseManifests(OURS)) expect(() => validateResource(doc)).not.toThrow();
  });

  it('names the field path when a subscriber has neither ref nor uri', () => {
    const { message, issues } = issuesOf(trigger({ broker: 'default', subscriber: {} }));
    expect(message).toBe('Trigger default/t1: spec.subscriber: ref or uri is required');
    expect(issues).toEqual([{ path: 'spec.subscriber', message: 'ref or uri is required' }]);
  });

  it('reports every problem, with paths into lists and maps', () => {
    const { issues } = issuesOf(
      trigger(
        {
          broker: '',
          filter: { attributes: { Type: 'x' } },
          filters: ['nope'],
          subscriber: { uri: 'not a url' },
          delivery: { retry: -1, backoffPolicy: 'random', backoffDelay: '200ms' },
        },
        { metadata: { name: 't1', annotations: { 'eventing.elastic-serving.dev/delivery.order': 'sometimes' } } },
      ),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'spec.broker',
        'spec.filter.attributes.Type',
        'spec.filters[0]',
        'spec.subscriber.uri',
        'spec.delivery.retry',
        'spec.delivery.backoffPolicy',
        'spec.delivery.backoffDelay',
        'metadata.annotations["eventing.elastic-serving.dev/delivery.order"]',
      ]),
    );
    expect(issues.find((i) => i.path === 'spec.delivery.backoffPolicy')?.message).toBe(
      'must be one of linear|exponential',
    );
  });

  it('is strict about our groups but loose about Knative', () => {
    const spec = { broker: 'default', subscriber: { uri: 'http://x/' }, brokr: 'typo' };
    expect(issuesOf(trigger(spec)).issues).toEqual([{ path: 'spec.brokr', message: 'unknown field' }]);
    expect(() =>
      validateResource({ ...(trigger(spec) as object), apiVersion: 'eventing.knative.dev/v1' }),
    ).not.toThrow();
  });

  it('says what is missing', () => {
    expect(issuesOf({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'a' } }).message).toBe(
      'Trigger default/a: spec: is required',
    );
    expect(issuesOf({ kind: 'Trigger', metadata: {} }).issues).toEqual([
      { path: 'apiVersion', message: 'is required' },
      { path: 'metadata.name', message: 'is required' },
    ]);
    expect(issuesOf({ apiVersion: 'x/v1', kind: 'Nope', metadata: { name: 'a' } }).issues[0]?.path).toBe('kind');
    expect(issuesOf({ apiVersion: 'x/v1', kind: 'Trigger', metadata: { name: 'a' } }).issues[0]?.path).toBe(
      'apiVersion',
    );
    expect(
      issuesOf({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'Bad_Name' } }).issues[0]
        ?.path,
    ).toBe('metadata.name');
  });

  it('validates PingSource schedules, zones and data', () => {
    const ping = (spec: unknown) => ({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'PingSource',
      metadata: { name: 'p' },
      spec,
    });
    const sink = { uri: 'http://127.0.0.1:1/' };
    expect(() => validateResource(ping({ schedule: '@hourly', sink }))).not.toThrow();
    const bad = issuesOf(ping({ schedule: '* * *', timezone: 'Mars/Base', data: 'a', dataBase64: 'YQ==', sink }));
    expect(bad.issues.map((i) => i.path)).toEqual(['spec.schedule', 'spec.timezone', 'spec.dataBase64']);
    expect(issuesOf(ping({ schedule: '99 * * * *', sink })).issues[0]?.path).toBe('spec.schedule');
  });

  it('validates Function specs', () => {
    const fn = (spec: unknown) => ({
      apiVersion: 'serving.elastic-serving.dev/v1',
      kind: 'Function',
      metadata: { name: 'f' },
      spec,
    });
    expect(issuesOf(fn({ replicas: 1 })).issues).toEqual([{ path: 'spec', message: 'handler or image is required' }]);
    const bad = issuesOf(
      fn({ handler: 'x.ts', containerConcurrency: 1.5, scaling: { minScale: 5, maxScale: 2, metric: 'cpu' } }),
    );
    expect(bad.issues.map((i) => i.path)).toEqual(['spec.containerConcurrency', 'spec.scaling.metric']);
    expect(issuesOf(fn({ handler: 'x.ts', scaling: { minScale: 5, maxScale: 2 } })).issues).toEqual([
      { path: 'spec.scaling.minScale', message: 'must be <= maxScale' },
    ]);
    expect(() => validateResource(fn({ image: 'ghcr.io/x/y:1', env: [{ name: 'A', value: 'b' }] }))).not.toThrow();
  });

  it('runs the pluggable filter and delivery hooks with paths under spec', () => {
    const obj = trigger({
      broker: 'b',
      filters: [{ cesql: 'bad (' }],
      subscriber: { uri: 'http://x/' },
      delivery: { retry: 1 },
    });
    const hooks = {
      validateTriggerFilter: () => [{ path: 'filters[0].cesql', message: 'unexpected end of input' }],
      validateDelivery: () => [{ path: 'retry', message: 'too few' }],
    };
    try {
      validateResource(obj, hooks);
      throw new Error('unreachable');
    } catch (err) {
      expect((err as InvalidResourceError).issues).toEqual([
        { path: 'spec.filters[0].cesql', message: 'unexpected end of input' },
        { path: 'spec.delivery.retry', message: 'too few' },
      ]);
    }
  });

  it('validates broker classes and maps them to channels', () => {
    const broker = (annotations: Record<string, string>) => ({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: { name: 'b', annotations },
    });
    expect(brokerChannel(validateResource(broker({ 'eventing.knative.dev/broker.class': 'Kafka' })), 'memory')).toBe(
      'kafka',
    );
    expect(
      brokerChannel(validateResource(broker({ 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' })), 'nats'),
    ).toBe('nats');
    expect(
      brokerChannel(validateResource(broker({ 'eventing.elastic-serving.dev/broker.class': 'redis' })), 'memory'),
    ).toBe('redis');
    expect(brokerChannel(validateResource(broker({})), 'memory')).toBe('memory');
    const configured = (name: string) =>
      validateResource({
        apiVersion: 'eventing.elastic-serving.dev/v1',
        kind: 'Broker',
        metadata: { name: 'b' },
        spec: { config: { kind: 'Channel', name } },
      });
    expect(brokerChannel(configured('kafka'), 'memory')).toBe('kafka');
    expect(brokerChannel(configured('redis'), 'nats')).toBe('redis');
    expect(() => configured('rabbit')).toThrow(/spec.config.name/);
    expect(issuesOf(broker({ 'eventing.knative.dev/broker.class': 'RabbitMQBroker' })).issues[0]?.path).toBe(
      'metadata.annotations["eventing.knative.dev/broker.class"]',
    );
  });
});

describe('helpers', () => {
  it('reads flow control with defaults and the Kafka alias', () => {
    const t = (annotations: Record<string, string>) => ({
      apiVersion: 'x',
      kind: 'Trigger',
      metadata: { name: 't', annotations },
    });
    expect(triggerFlowControl(t({}))).toEqual({ order: 'unordered', maxInFlight: 50 });
    expect(triggerFlowControl(t({ 'kafka.eventing.knative.dev/delivery.order': 'ordered' })).order).toBe('ordered');
    expect(triggerFlowControl(t({ 'eventing.elastic-serving.dev/delivery.rate-limit': '200' })).rateLimit).toBe(200);
  });

  it('resolves Function defaults', () => {
    const r = resolveFunctionSpec({ handler: 'h.ts', containerConcurrency: 10, env: [{ name: 'A', value: '1' }] });
    expect(r).toMatchObject({
      replicas: 1,
      timeoutSeconds: 300,
      env: { A: '1' },
      scaling: { target: 10, targetUtilization: 0.7 },
    });
    expect(resolveFunctionSpec({ handler: 'h.ts' }).scaling.target).toBe(100);
  });

  it('finds kinds by any name', () => {
    expect(kindInfo('triggers')?.kind).toBe('Trigger');
    expect(kindInfo('isvc')?.plural).toBe('inferenceservices');
    expect(kindInfo('PingSource')?.apiVersions).toContain('sources.knative.dev/v1beta2');
  });
});
