import { ModelLoadError } from './errors.ts';
import type { FetchedModel } from './storage.ts';
import { redactUri } from './storage-paths.ts';

/**
 * `http(s)://…/model.onnx`. HTTP cannot list a directory, so a URI ending in `/` fetches `model.onnx` under it
 * (KServe's file name).
 */
export async function fetchHttp(uri: string, signal?: AbortSignal): Promise<FetchedModel> {
  const url = uri.endsWith('/') ? `${uri}model.onnx` : uri;
  const shown = redactUri(url);
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new ModelLoadError(`GET ${shown} failed: ${reason}`, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new ModelLoadError(`GET ${shown} answered ${res.status} ${res.statusText}`.trim());
  }
  return { bytes: new Uint8Array(await res.arrayBuffer()), from: shown };
}
