// Small helpers shared by the e2e files written against `elastic-serving up` in a child process.
import { expect } from 'vitest';
import type { PlatformProcess } from '../support/platform-process.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Names unique across files and runs (each file shares nothing with the others, but keep them distinct anyway). */
export function uniqueNames(fileTag: string) {
  let n = 0;
  return (prefix: string) => `${prefix}-${fileTag}-${Date.now().toString(36)}-${n++}`;
}

/** `apply -f -` with the YAML on stdin; fails the test on a non-zero exit. */
export async function apply(platform: PlatformProcess, yaml: string) {
  const r = await platform.cli(['apply', '-f', '-'], yaml);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

const PATHS: Record<string, string> = {
  broker: 'eventing.knative.dev/v1/namespaces/default/brokers',
  trigger: 'eventing.knative.dev/v1/namespaces/default/triggers',
  function: 'serving.elastic-serving.dev/v1/namespaces/default/functions',
  pingsource: 'sources.knative.dev/v1/namespaces/default/pingsources',
  storagesource: 'sources.elastic-serving.dev/v1/namespaces/default/storagesources',
  inferenceservice: 'serving.elastic-serving.dev/v1/namespaces/default/inferenceservices',
  trainedmodel: 'serving.elastic-serving.dev/v1alpha1/namespaces/default/trainedmodels',
};

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface StatusObject {
  metadata: { name: string };
  status?: { conditions?: Condition[]; address?: { url?: string } } & Record<string, unknown>;
}

/** Reads an object straight from the control API (cheaper than a CLI process per poll). */
export async function getObject(
  platform: PlatformProcess,
  kind: keyof typeof PATHS | string,
  name: string,
): Promise<StatusObject | undefined> {
  const res = await fetch(`${platform.urls.control}/apis/${PATHS[kind]}/${name}`);
  if (res.status === 404) return undefined;
  return (await res.json()) as StatusObject;
}

export const readyOf = (obj: StatusObject | undefined) => obj?.status?.conditions?.find((c) => c.type === 'Ready');

/** Polls until `accept(Ready condition)` holds; returns the object. */
export async function waitReadyWhere(
  platform: PlatformProcess,
  kind: string,
  name: string,
  accept: (ready: Condition) => boolean,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const obj = await getObject(platform, kind, name);
    const ready = readyOf(obj);
    if (ready && accept(ready)) return obj!;
    if (Date.now() > deadline)
      throw new Error(`${kind}/${name}: Ready condition not as expected: ${JSON.stringify(obj?.status)}`);
    await sleep(50);
  }
}

/** Polls until the object's Ready condition has `status` ('True' by default); returns the object. */
export function waitCondition(
  platform: PlatformProcess,
  kind: string,
  name: string,
  status = 'True',
  timeoutMs = 15_000,
) {
  return waitReadyWhere(platform, kind, name, (c) => c.status === status, timeoutMs);
}

export function broker(name: string, spec = '') {
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${name}, namespace: default }
${spec ? `spec:\n${spec}\n` : ''}`;
}

export function trigger(name: string, brokerName: string, subscriber: string, extra = '', annotations = '') {
  return `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: default
${annotations ? `  annotations:\n${annotations}\n` : ''}spec:
  broker: ${brokerName}
  subscriber: ${subscriber.startsWith('{') ? subscriber : `{ uri: "${subscriber}" }`}
${extra}
`;
}

/** Sends one binary-mode event with raw HTTP; returns the response. */
export function post(url: string, id: string, type: string, extra: Record<string, string> = {}, body?: string) {
  return fetch(url, {
    method: 'POST',
    headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e', 'ce-type': type, ...extra },
    ...(body === undefined ? {} : { body }),
  });
}

/** Waits until the triggers of a broker are Ready, so the first event is not sent before their subscriptions exist. */
export async function waitTriggers(platform: PlatformProcess, names: string[]) {
  for (const n of names) await waitCondition(platform, 'trigger', n);
}
