/** Shared helpers of the model server's tests: model files on disk, router calls without sockets. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HttpAnswer, HttpRequest } from 'elastic-serving/sdk';

export interface ModelFiles {
  dir: string;
  /** Writes `bytes` at `relPath` under the temp dir; returns its file:// URI. */
  write(relPath: string, bytes: Uint8Array | string): Promise<string>;
  uri(relPath: string): string;
  cleanup(): Promise<void>;
}

export async function modelFiles(): Promise<ModelFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'es-model-server-'));
  const uri = (rel: string) => pathToFileURL(join(dir, rel)).href;
  return {
    dir,
    uri,
    async write(rel, bytes) {
      const path = join(dir, rel);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
      return uri(rel);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export function req(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): HttpRequest {
  const raw = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return {
    method,
    path,
    headers: { 'content-type': 'application/json', ...headers },
    body: raw,
    signal: new AbortController().signal,
  };
}

/** The answer with its body parsed as JSON (when it is JSON); `json` is loosely typed for terse assertions. */
// biome-ignore lint/suspicious/noExplicitAny: test helper; every use is checked by an expect().
export function parsed(answer: HttpAnswer | undefined): { status: number; headers: Record<string, string>; json: any } {
  if (!answer) throw new Error('router answered undefined');
  const text = answer.body === undefined ? '' : answer.body.toString();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: answer.status, headers: answer.headers ?? {}, json };
}

/** A promise with its resolver outside, to hold a load (or anything) until a test lets it go. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    open = r;
  });
  return { promise, open };
}
