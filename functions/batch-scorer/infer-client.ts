/**
 * The Open Inference Protocol v2 calls a batch worker makes: model metadata (cached) and infer.
 *
 * Failures come in two kinds. Whole-chunk failures — the server unreachable, a timeout, 404 (model not loaded
 * yet), 408, 429, 502, 503, 504 — are retried by the queue with the whole chunk. Any other error answer (400,
 * 422, 500 …) may be caused by one row, so the worker retries that chunk's rows one by one and fails only the
 * rows the server still refuses.
 */
import { Agent, request } from 'undici';
import { binaryCapable, decodeResponse, encodeBinaryRequest, HEADER_LENGTH } from './binary-tensors.ts';
import type { ModelMeta, TensorMeta, V2Tensor } from './tensors.ts';

/** Statuses that say nothing about the rows: the chunk is retried later as a whole. */
const CHUNK_RETRY_STATUSES = new Set([404, 408, 429, 502, 503, 504]);

export class InferError extends Error {
  constructor(
    message: string,
    /** HTTP status, undefined for network errors and timeouts. */
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InferError';
  }

  /** True when the failure may come from the rows sent (the rows are then tried one by one). */
  get rowLevel(): boolean {
    return this.status !== undefined && !CHUNK_RETRY_STATUSES.has(this.status);
  }
}

export interface InferClientOptions {
  /** How long one HTTP call may wait for its answer's headers, then between parts of its body. @defaultValue 60000 */
  timeoutMs?: number;
  /** How long model metadata is reused before it is read again. @defaultValue 30000 */
  metadataTtlMs?: number;
  /** Extra headers on every call (e.g. authorization). @defaultValue {} */
  headers?: Record<string, string>;
  /**
   * Tensor data as binary (the `binary_tensor_data` extension): `auto` uses it when the server's metadata
   * (`GET {url}/v2`) lists the extension, as Triton's and ours do. @defaultValue 'auto'
   */
  binary?: 'auto' | 'always' | 'never';
}

const agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the body itself is the best reason we have
  }
  return body.trim().slice(0, 500) || '(empty body)';
}

function tensorMeta(value: unknown): TensorMeta {
  const t = value as Partial<TensorMeta>;
  if (typeof t?.name !== 'string' || typeof t.datatype !== 'string' || !Array.isArray(t.shape)) {
    throw new Error('model metadata has a tensor without name, datatype and shape');
  }
  return { name: t.name, datatype: t.datatype, shape: t.shape.map(Number) };
}

export class InferClient {
  readonly #timeoutMs: number;
  readonly #ttlMs: number;
  readonly #headers: Record<string, string>;
  readonly #meta = new Map<string, { at: number; meta: Promise<ModelMeta> }>();
  readonly #binary: NonNullable<InferClientOptions['binary']>;
  readonly #binaryByUrl = new Map<string, Promise<boolean>>();

  constructor(options: InferClientOptions = {}) {
    this.#binary = options.binary ?? 'auto';
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#ttlMs = options.metadataTtlMs ?? 30_000;
    this.#headers = options.headers ?? {};
  }

  async #call(
    method: 'GET' | 'POST',
    url: string,
    body: string | Buffer | undefined,
    signal: AbortSignal,
    headers: Record<string, string> = {},
  ): Promise<{ outputs?: unknown; [k: string]: unknown }> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        method,
        body,
        headers: {
          ...this.#headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        signal,
        // undici's own deadlines, not a timer signal per call: the same bound on a stuck call, for less work.
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        dispatcher: agent,
      });
    } catch (err) {
      throw new InferError(`${method} ${url}: ${(err as Error).message}`, undefined, { cause: err });
    }
    const bytes = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw new InferError(
        `${method} ${url} answered ${res.statusCode}: ${errorText(bytes.toString('utf8'))}`,
        res.statusCode,
      );
    }
    const length = res.headers[HEADER_LENGTH];
    try {
      return decodeResponse(bytes, typeof length === 'string' ? Number(length) : undefined);
    } catch (err) {
      throw new InferError(
        `${method} ${url} answered ${res.statusCode} with a body that is not v2: ${(err as Error).message}`,
        500,
        {
          cause: err,
        },
      );
    }
  }

  /** Whether to send binary tensor data to `url` (server metadata read once per URL). */
  #useBinary(url: string, signal: AbortSignal): Promise<boolean> {
    if (this.#binary !== 'auto') return Promise.resolve(this.#binary === 'always');
    let known = this.#binaryByUrl.get(url);
    if (known === undefined) {
      known = this.#call('GET', `${url}/v2`, undefined, signal).then(
        (m) => Array.isArray(m.extensions) && m.extensions.includes('binary_tensor_data'),
        () => false,
      );
      this.#binaryByUrl.set(url, known);
    }
    return known;
  }

  /** `GET {url}/v2/models/{model}`: input and output tensors (cached per URL and model). */
  metadata(url: string, model: string, signal: AbortSignal): Promise<ModelMeta> {
    const key = `${url}\n${model}`;
    const cached = this.#meta.get(key);
    if (cached && Date.now() - cached.at < this.#ttlMs) return cached.meta;
    const meta = this.#call('GET', `${url}/v2/models/${encodeURIComponent(model)}`, undefined, signal).then((m) => {
      if (!Array.isArray(m.inputs) || m.inputs.length === 0) throw new Error(`model ${model} reports no inputs`);
      return {
        name: typeof m.name === 'string' ? m.name : model,
        inputs: m.inputs.map(tensorMeta),
        outputs: Array.isArray(m.outputs) ? m.outputs.map(tensorMeta) : [],
      };
    });
    this.#meta.set(key, { at: Date.now(), meta });
    // A failed read is not cached: the chunk's retry reads again.
    meta.catch(() => {
      if (this.#meta.get(key)?.meta === meta) this.#meta.delete(key);
    });
    return meta;
  }

  /** `POST {url}/v2/models/{model}/infer`: the response's output tensors. */
  async infer(url: string, model: string, id: string, inputs: V2Tensor[], signal: AbortSignal): Promise<V2Tensor[]> {
    const target = `${url}/v2/models/${encodeURIComponent(model)}/infer`;
    let answer: { outputs?: unknown };
    if (inputs.every((t) => binaryCapable(t.datatype)) && (await this.#useBinary(url, signal))) {
      const { body, headerLength } = encodeBinaryRequest(id, inputs);
      answer = await this.#call('POST', target, body, signal, {
        'content-type': 'application/octet-stream',
        [HEADER_LENGTH]: String(headerLength),
      });
    } else {
      answer = await this.#call('POST', target, JSON.stringify({ id, inputs }), signal);
    }
    if (!Array.isArray(answer.outputs)) throw new InferError(`infer answer of ${model} has no outputs`, 500);
    return answer.outputs as V2Tensor[];
  }
}
