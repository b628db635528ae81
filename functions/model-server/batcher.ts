/**
 * Adaptive micro-batching of concurrent requests for one model (KServe's batcher: `maxBatchSize`, `maxLatency`).
 *
 * Requests whose inputs agree on every dimension but the first are concatenated along dimension 0, run once, and
 * the outputs are split back by row. "Adaptive": when the model is idle a batch leaves at the end of the current
 * event-loop turn, so a lone request pays no waiting; while a batch runs, newcomers gather and leave together as
 * soon as it finishes, when `maxBatchSize` rows are reached, or after `maxLatencyMs` at most.
 */
import { Tensor } from 'onnxruntime-node';
import type { NamedTensors, OnnxModel } from './onnx-model.ts';

export interface BatchingOptions {
  /**
   * Most rows (dimension 0, summed over requests) in one run; a request with more rows runs alone.
   * @defaultValue 32
   */
  maxBatchSize?: number;
  /**
   * Longest a request waits for others before its batch runs, in milliseconds.
   * @defaultValue 10
   */
  maxLatencyMs?: number;
}

interface Waiter {
  feeds: NamedTensors;
  rows: number;
  resolve: (outputs: NamedTensors) => void;
  reject: (err: unknown) => void;
}

interface Pending {
  key: string;
  waiters: Waiter[];
  rows: number;
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
}

type Data = Tensor.DataType;

/** Why a model cannot be batched at all (every input and output needs a free dimension 0), or undefined. */
export function unbatchableReason(model: OnnxModel): string | undefined {
  for (const s of [...model.inputs, ...model.outputs]) {
    if (!s.rankKnown || s.shape.length === 0 || s.shape[0] !== -1) {
      return `'${s.name}' has shape ${s.shapeText}; batching needs a variable first dimension on every input and output`;
    }
  }
  return undefined;
}

function concat(parts: Data[], total: number): Data {
  const first = parts[0]!;
  if (Array.isArray(first)) return ([] as string[]).concat(...(parts as string[][]));
  const out = new (first.constructor as new (n: number) => Exclude<Data, string[]>)(total);
  let off = 0;
  for (const p of parts as Exclude<Data, string[]>[]) {
    (out as Uint8Array).set(p as Uint8Array, off);
    off += p.length;
  }
  return out;
}

function slice(data: Data, from: number, to: number): Data {
  return Array.isArray(data) ? data.slice(from, to) : data.subarray(from, to);
}

export class Batcher {
  readonly maxBatchSize: number;
  readonly maxLatencyMs: number;
  /** Runs that combined two or more requests. */
  batches = 0;
  readonly #model: OnnxModel;
  readonly #inputs: readonly string[];
  #pending: Pending | undefined;
  #running = 0;
  #idle: (() => void) | undefined;

  constructor(model: OnnxModel, options: BatchingOptions = {}) {
    this.#model = model;
    this.#inputs = model.inputs.map((s) => s.name);
    this.maxBatchSize = Math.max(1, options.maxBatchSize ?? 32);
    this.maxLatencyMs = Math.max(0, options.maxLatencyMs ?? 10);
  }

  /** Runs `feeds` (inputs already validated against the model), batched with others where possible. */
  submit(feeds: NamedTensors): Promise<NamedTensors> {
    let rows = -1;
    let key = '';
    for (const name of this.#inputs) {
      const dims = feeds[name]!.dims;
      if (rows === -1) rows = dims[0]!;
      else if (dims[0] !== rows) return this.#model.run(feeds);
      key += `${dims.slice(1).join('x')}|`;
    }
    if (rows < 1 || rows > this.maxBatchSize) return this.#model.run(feeds);
    let p = this.#pending;
    // A different row shape cannot join this batch; it runs alone rather than waiting behind it.
    if (p && p.key !== key) return this.#model.run(feeds);
    if (p && p.rows + rows > this.maxBatchSize) {
      this.#flush(p);
      p = undefined;
    }
    return new Promise<NamedTensors>((resolve, reject) => {
      if (!p) {
        const fresh: Pending = { key, waiters: [], rows: 0, timer: undefined, immediate: undefined };
        fresh.timer = setTimeout(() => this.#flush(fresh), this.maxLatencyMs);
        if (this.#running === 0) fresh.immediate = setImmediate(() => this.#flush(fresh));
        this.#pending = p = fresh;
      }
      p.waiters.push({ feeds, rows, resolve, reject });
      p.rows += rows;
      if (p.rows >= this.maxBatchSize) this.#flush(p);
    });
  }

  #flush(p: Pending): void {
    if (this.#pending !== p) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    if (p.immediate) clearImmediate(p.immediate);
    this.#running++;
    this.#run(p).finally(() => {
      this.#running--;
      const next = this.#pending;
      if (next && this.#running === 0) this.#flush(next);
      else if (this.#running === 0) this.#idle?.();
    });
  }

  /** Sends what is waiting now and resolves once no batch is running (before the model is freed). */
  drain(): Promise<void> {
    if (this.#pending) this.#flush(this.#pending);
    if (this.#running === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const previous = this.#idle;
      this.#idle = () => {
        this.#idle = previous;
        previous?.();
        resolve();
      };
    });
  }

  async #run(p: Pending): Promise<void> {
    const { waiters } = p;
    if (waiters.length === 1) {
      const w = waiters[0]!;
      await this.#model.run(w.feeds).then(w.resolve, w.reject);
      return;
    }
    this.batches++;
    try {
      const feeds: NamedTensors = {};
      for (const name of this.#inputs) {
        const first = waiters[0]!.feeds[name]!;
        const rest = first.dims.slice(1);
        const rowSize = rest.reduce((a, b) => a * b, 1);
        const data = concat(
          waiters.map((w) => w.feeds[name]!.data),
          p.rows * rowSize,
        );
        feeds[name] = new Tensor(first.type, data as never, [p.rows, ...rest]);
      }
      const out = await this.#model.run(feeds);
      const parts: NamedTensors[] = waiters.map(() => ({}));
      for (const [name, t] of Object.entries(out)) {
        if (t.dims[0] !== p.rows) {
          throw new Error(
            `output '${name}' has ${t.dims[0]} rows for a batch of ${p.rows}: this model cannot be batched`,
          );
        }
        const rest = t.dims.slice(1);
        const rowSize = p.rows === 0 ? 0 : t.size / p.rows;
        let row = 0;
        for (let i = 0; i < waiters.length; i++) {
          const rows = waiters[i]!.rows;
          parts[i]![name] = new Tensor(t.type, slice(t.data, row * rowSize, (row + rows) * rowSize) as never, [
            rows,
            ...rest,
          ]);
          row += rows;
        }
      }
      for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(parts[i]!);
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }
}
