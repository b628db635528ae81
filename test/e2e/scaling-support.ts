// Helpers of the scale-from-zero e2e files: a handler that reports when it starts, Function YAML, status polling.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlatformProcess } from '../support/platform-process.ts';
import { getObject, sleep } from './e2e-helpers.ts';

/**
 * Posts `x-id`/`x-start` (ms since the epoch, taken first thing) to CALLS_URL when set, waits `data.ms`, and
 * replies with `{id, pid, startedAt, arrival}` (arrival: the ingress's `knativearrivaltime`) as an `e2e.scale.reply` event (the reply proves the delivery succeeded).
 */
const HANDLER = `import { defineFunction } from 'elastic-serving/sdk';
export default defineFunction<{ ms?: number }>(async (event) => {
  const startedAt = Date.now();
  const calls = process.env.CALLS_URL;
  if (calls) await fetch(calls, { method: 'POST', headers: { 'x-id': event.id, 'x-start': String(startedAt), 'x-pid': String(process.pid) } });
  if (event.data?.ms) await new Promise((r) => setTimeout(r, event.data!.ms));
  return { id: event.id, pid: process.pid, startedAt, arrival: event.attributes.knativearrivaltime ?? null };
}, { replyType: 'e2e.scale.reply' });
`;

export function writeScaleHandler(dir: string): string {
  const file = join(dir, 'scale-handler.ts');
  writeFileSync(file, HANDLER);
  return file;
}

export interface FunctionYaml {
  handler: string;
  annotations?: Record<string, string>;
  env?: Record<string, string>;
  /** Extra `spec:` lines, indented by two spaces. */
  spec?: string;
}

export function functionYaml(name: string, o: FunctionYaml): string {
  const ann = Object.entries(o.annotations ?? {});
  const env = Object.entries(o.env ?? {});
  return `apiVersion: serving.elastic-serving.dev/v1
kind: Function
metadata:
  name: ${name}
  namespace: default
${ann.length ? `  annotations:\n${ann.map(([k, v]) => `    ${k}: "${v}"`).join('\n')}\n` : ''}spec:
  handler: ${o.handler}
${env.length ? `  env:\n${env.map(([k, v]) => `    - { name: ${k}, value: "${v}" }`).join('\n')}\n` : ''}${o.spec ?? ''}`;
}

export const fnRef = (name: string) =>
  `{ ref: { apiVersion: serving.elastic-serving.dev/v1, kind: Function, name: ${name} } }`;

export interface FunctionStatus {
  readyReplicas?: number;
  desiredReplicas?: number;
  replicaRestarts?: number;
  lastReplicaFailure?: string;
  scaling?: { mode?: string; reason?: string; activatorInPath?: boolean; panic?: boolean };
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

export async function functionStatus(platform: PlatformProcess, name: string): Promise<FunctionStatus> {
  return ((await getObject(platform, 'function', name))?.status ?? {}) as FunctionStatus;
}

/** Polls a Function's status until `accept` holds; returns it. */
export async function waitStatus(
  platform: PlatformProcess,
  name: string,
  accept: (s: FunctionStatus) => boolean,
  timeoutMs = 15_000,
): Promise<FunctionStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await functionStatus(platform, name);
    if (accept(s)) return s;
    if (Date.now() > deadline) throw new Error(`function/${name}: status not as expected: ${JSON.stringify(s)}`);
    await sleep(50);
  }
}

export const atZero = (s: FunctionStatus) => s.desiredReplicas === 0 && s.readyReplicas === 0;

/** The value of one sample of a Prometheus text exposition, 0 when absent. */
export async function metric(platform: PlatformProcess, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${platform.urls.control}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').at(-1));
  }
  return 0;
}

/** Replica log lines of a Function (every run of every replica). */
export function replicaLogLines(platform: PlatformProcess, name: string): string[] {
  const dir = join(platform.stateDir, 'logs', 'default', name);
  return readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'));
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}
