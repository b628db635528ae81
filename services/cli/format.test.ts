import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ResourceObject } from './client.ts';
import { describeObject } from './describe.ts';
import { formatObjects, formatTable, humanAge, REDACTED, redact, renderTable } from './format.ts';

const NOW = Date.parse('2025-01-10T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

function trigger(name: string, extra: Partial<ResourceObject> = {}): ResourceObject {
  return {
    apiVersion: 'eventing.elastic-serving.dev/v1',
    kind: 'Trigger',
    metadata: { name, namespace: 'default', creationTimestamp: ago(300) },
    spec: { broker: 'default', subscriber: { ref: { kind: 'Function', name: 'echo' } } },
    status: {
      subscriberUri: 'http://127.0.0.1:8081/default/echo',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ago(200) }],
    },
    ...extra,
  };
}

describe('humanAge', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [119, '119s'],
    [200, '3m20s'],
    [240, '4m'],
    [25 * 60, '25m'],
    [5 * 3600 + 600, '5h10m'],
    [30 * 3600, '30h'],
    [3 * 86400 + 4 * 3600, '3d4h'],
    [120 * 86400, '120d'],
    [3 * 365 * 86400 + 20 * 86400, '3y20d'],
  ])('%ss → %s', (seconds, text) => {
    expect(humanAge(ago(seconds), NOW)).toBe(text);
  });

  it('says unknown for missing or unparsable timestamps and invalid for the future', () => {
    expect(humanAge(undefined, NOW)).toBe('<unknown>');
    expect(humanAge('yesterday', NOW)).toBe('<unknown>');
    expect(humanAge(new Date(NOW + 60_000).toISOString(), NOW)).toBe('<invalid>');
  });
});

describe('tables', () => {
  it('aligns columns with three spaces and trims trailing blanks', () => {
    expect(
      renderTable(
        ['NAME', 'X'],
        [
          ['a', ''],
          ['longer', 'y'],
        ],
      ),
    ).toBe('NAME     X\na\nlonger   y\n');
  });

  it('prints trigger columns in Knative order', () => {
    const notReady = trigger('b', {
      status: { conditions: [{ type: 'Ready', status: 'False', reason: 'BrokerDoesNotExist' }] },
    });
    const text = formatTable('Trigger', [trigger('a'), notReady], { now: NOW });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]!.split(/\s{3,}/)).toEqual(['NAME', 'BROKER', 'SUBSCRIBER_URI', 'AGE', 'READY', 'REASON']);
    expect(lines[1]!.split(/\s{3,}/)).toEqual(['a', 'default', 'http://127.0.0.1:8081/default/echo', '5m', 'True']);
    expect(lines[2]!.split(/\s+/)).toEqual(['b', 'default', '5m', 'False', 'BrokerDoesNotExist']);
  });

  it('prints function URL and ready/desired replicas, namespace with -A, apiVersion with wide', () => {
    const fn: ResourceObject = {
      apiVersion: 'serving.elastic-serving.dev/v1',
      kind: 'Function',
      metadata: { name: 'echo', namespace: 'demo', creationTimestamp: ago(10) },
      spec: { handler: 'functions/examples/echo/index.ts' },
      status: {
        address: { url: 'http://127.0.0.1:8081/demo/echo' },
        readyReplicas: 1,
        desiredReplicas: 2,
        scaling: { mode: 'autoscaled', metric: 'concurrency', value: 12.4, target: 7, panic: true },
      },
    };
    const lines = formatTable('Function', [fn], { now: NOW, allNamespaces: true, wide: true }).trimEnd().split('\n');
    expect(lines[0]!.split(/\s{3,}/)).toEqual([
      'NAMESPACE',
      'NAME',
      'URL',
      'REPLICAS',
      'SCALING',
      'HANDLER',
      'AGE',
      'READY',
      'REASON',
      'APIVERSION',
    ]);
    expect(lines[1]!.split(/\s{3,}/)).toEqual([
      'demo',
      'echo',
      'http://127.0.0.1:8081/demo/echo',
      '1/2',
      'concurrency 12.4/7 panic',
      'functions/examples/echo/index.ts',
      '10s',
      'Unknown',
      'serving.elastic-serving.dev/v1',
    ]);
  });

  it('says a function with spec.replicas alone is fixed, and shows the queue depth that scales one', () => {
    const fixed: ResourceObject = {
      apiVersion: 'serving.elastic-serving.dev/v1',
      kind: 'Function',
      metadata: { name: 'f', creationTimestamp: ago(1) },
      spec: { handler: 'h.ts', replicas: 2 },
      status: { readyReplicas: 2, desiredReplicas: 2, scaling: { mode: 'fixed' } },
    };
    const queued: ResourceObject = {
      ...fixed,
      metadata: { name: 'q', creationTimestamp: ago(1) },
      status: {
        readyReplicas: 0,
        desiredReplicas: 2,
        scaling: { mode: 'autoscaled', metric: 'concurrency', value: 0, target: 7, queueDepth: 40 },
      },
    };
    const lines = formatTable('Function', [fixed, queued], { now: NOW }).trimEnd().split('\n');
    expect(lines[1]!.split(/\s{3,}/).slice(1, 3)).toEqual(['2/2', 'fixed']);
    expect(lines[2]!.split(/\s{3,}/).slice(1, 3)).toEqual(['0/2', 'concurrency 0/7 queue 40']);
  });

  it('prints pingsource schedule and sink', () => {
    const ping: ResourceObject = {
      apiVersion: 'sources.knative.dev/v1',
      kind: 'PingSource',
      metadata: { name: 'p', creationTimestamp: ago(1) },
      spec: { schedule: '*/1 * * * *', sink: { ref: { kind: 'Broker', name: 'default' } } },
    };
    expect(formatTable('PingSource', [ping], { now: NOW })).toContain('*/1 * * * *   Broker/default');
  });
});

describe('redaction', () => {
  const fn: ResourceObject = {
    apiVersion: 'serving.elastic-serving.dev/v1',
    kind: 'Function',
    metadata: { name: 'f' },
    spec: {
      env: [
        { name: 'API_TOKEN', value: 't0p' },
        { name: 'DB_PASSWORD', value: 'pw' },
        { name: 'S3_ACCESS_KEY', value: 'k' },
        { name: 'client_secret', value: 's' },
        { name: 'MODEL', value: 'iris' },
      ],
      containers: [{ env: { AWS_SECRET_ACCESS_KEY: 'x', REGION: 'eu' } }],
    },
  };

  it('hides secret-looking env values in lists and maps, anywhere under spec, without touching the original', () => {
    const shown = redact(fn);
    const env = shown.spec!.env as { name: string; value: string }[];
    expect(env.map((e) => e.value)).toEqual([REDACTED, REDACTED, REDACTED, REDACTED, 'iris']);
    expect((shown.spec!.containers as { env: Record<string, string> }[])[0]!.env).toEqual({
      AWS_SECRET_ACCESS_KEY: REDACTED,
      REGION: 'eu',
    });
    expect((fn.spec!.env as { value: string }[])[0]!.value).toBe('t0p');
  });

  it('applies to -o yaml and -o json output', () => {
    const yaml = formatObjects([fn], 'yaml', false);
    expect(yaml).not.toContain('t0p');
    expect(parse(yaml).spec.env[0].value).toBe(REDACTED);
    expect(formatObjects([fn], 'json', false)).not.toContain('"pw"');
    expect(describeObject(fn)).not.toContain('t0p');
  });

  it('wraps several objects (or a list query) in a List, names as kind.group/name', () => {
    const list = JSON.parse(formatObjects([trigger('a'), trigger('b')], 'json', true));
    expect(list.kind).toBe('List');
    expect(list.items).toHaveLength(2);
    expect(formatObjects([trigger('a')], 'name', true)).toBe('trigger.eventing.elastic-serving.dev/a\n');
  });
});

describe('describe', () => {
  it('shows identity, address, spec, extra status and a conditions table', () => {
    const text = describeObject(
      trigger('iris', {
        status: {
          subscriberUri: 'http://x',
          address: { url: 'http://addr' },
          conditions: [
            {
              type: 'Ready',
              status: 'False',
              reason: 'SubscriberNotReady',
              message: 'function iris has no replicas',
              lastTransitionTime: ago(60),
            },
          ],
        },
      }),
      NOW,
    );
    expect(text).toContain('Name:         iris');
    expect(text).toContain('Kind:         Trigger (eventing.elastic-serving.dev/v1)');
    expect(text).toContain('Address:      http://addr');
    expect(text).toMatch(/Spec:\n {2}broker: default/);
    expect(text).toContain('subscriberUri: http://x');
    expect(text).toMatch(/Ready +False +SubscriberNotReady +60s +function iris has no replicas/);
  });
});
