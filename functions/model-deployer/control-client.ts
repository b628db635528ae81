/**
 * The little of the control API (DESIGN §4, Kubernetes REST shape) the deployer needs: server-side apply, get,
 * delete and a watch of one TrainedModel until its Ready condition settles for the generation it applied.
 */
import { request } from 'undici';

const GROUP = '/apis/serving.elastic-serving.dev/v1alpha1';

export interface TrainedModelObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; generation?: number; annotations?: Record<string, string> };
  spec: { inferenceService: string; model: { storageUri: string; framework?: string } };
  status?: {
    observedGeneration?: number;
    url?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export class ControlClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  #url(namespace: string, name?: string, query = ''): string {
    const path = `${GROUP}/namespaces/${encodeURIComponent(namespace)}/trainedmodels`;
    return `${this.baseUrl}${path}${name ? `/${encodeURIComponent(name)}` : ''}${query}`;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}`, ...extra } : extra;
  }

  async #call<T>(method: 'GET' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<T | undefined> {
    const res = await request(url, {
      method,
      headers: this.#headers(body === undefined ? {} : { 'content-type': 'application/apply-patch+yaml' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.body.text();
    if (res.statusCode === 404 && method !== 'PATCH') return undefined;
    if (res.statusCode >= 300) throw new Error(`control API ${method} ${url}: ${res.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  get(namespace: string, name: string): Promise<TrainedModelObject | undefined> {
    return this.#call('GET', this.#url(namespace, name));
  }

  /** Creates or replaces the object (server-side apply); resolves to the stored object with its generation. */
  async apply(tm: TrainedModelObject): Promise<TrainedModelObject> {
    const namespace = tm.metadata.namespace ?? 'default';
    const body = { apiVersion: 'serving.elastic-serving.dev/v1alpha1', kind: 'TrainedModel', ...tm };
    return (await this.#call<TrainedModelObject>('PATCH', this.#url(namespace, tm.metadata.name), body))!;
  }

  async delete(namespace: string, name: string): Promise<boolean> {
    return (await this.#call('DELETE', this.#url(namespace, name))) !== undefined;
  }

  /**
   * Resolves with the object once a status for `generation` (or later) has a settled Ready condition (True or
   * False); rejects after `timeoutMs`. A watch, not polling, so the answer comes as soon as the status is written.
   */
  async waitSettled(
    namespace: string,
    name: string,
    generation: number,
    timeoutMs: number,
  ): Promise<TrainedModelObject> {
    const settled = (o: TrainedModelObject | undefined) => {
      const ready = o?.status?.conditions?.find((c) => c.type === 'Ready');
      return (
        (o?.status?.observedGeneration ?? 0) >= generation && (ready?.status === 'True' || ready?.status === 'False')
      );
    };
    const signal = AbortSignal.timeout(timeoutMs);
    const res = await request(this.#url(namespace, undefined, `?watch=true&fieldSelector=metadata.name%3D${name}`), {
      headers: this.#headers(),
      signal,
    });
    if (res.statusCode !== 200) throw new Error(`control API watch: ${res.statusCode} ${await res.body.text()}`);
    let buffered = '';
    try {
      for await (const chunk of res.body) {
        buffered += chunk.toString();
        let nl = buffered.indexOf('\n');
        while (nl !== -1) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          nl = buffered.indexOf('\n');
          if (line.trim() === '') continue;
          const { object } = JSON.parse(line) as { object: TrainedModelObject };
          if (settled(object)) return object;
        }
      }
    } catch (err) {
      if (signal.aborted) throw new Error(`TrainedModel ${namespace}/${name} not ready within ${timeoutMs} ms`);
      throw err;
    } finally {
      res.body.destroy();
    }
    throw new Error(`the watch of TrainedModel ${namespace}/${name} ended before it was ready`);
  }
}

export function readyCondition(tm: TrainedModelObject) {
  return tm.status?.conditions?.find((c) => c.type === 'Ready');
}
