import type { Resource } from './resources/types.ts';

/** Small valid objects for tests in this folder. */
export function trigger(name: string, overrides: Partial<Resource> & { namespace?: string } = {}): Resource {
  const { namespace, ...rest } = overrides;
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
    spec: { broker: 'default', subscriber: { uri: 'http://127.0.0.1:9/' } },
    ...rest,
  };
}

export function broker(name: string, namespace?: string): Resource {
  return {
    apiVersion: 'eventing.elastic-serving.dev/v1',
    kind: 'Broker',
    metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
  };
}
