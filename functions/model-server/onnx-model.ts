/**
 * One ONNX model in onnxruntime: loads from bytes, describes its inputs and outputs in v2 terms (read from the
 * session, never from a side file) and runs it. Metadata is computed once here so the infer path only looks
 * things up.
 */
import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { type DatatypeInfo, datatypeOfOrt, type V2Datatype } from './datatypes.ts';
import { ModelLoadError } from './errors.ts';

/** An input or output as the v2 metadata shows it, plus what decoding needs. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: V2Datatype;
  readonly info: DatatypeInfo;
  /** Dimensions; -1 where the model leaves a dimension free (a symbolic or unknown dim). */
  readonly shape: readonly number[];
  /** False when onnxruntime reports no shape at all: any shape is then accepted. */
  readonly rankKnown: boolean;
  /** `[-1,4]`, for error messages. */
  readonly shapeText: string;
}

export interface OnnxModelOptions {
  /**
   * Threads onnxruntime uses inside one operator. Small models answer fastest single-threaded, and replicas
   * scale out rather than up.
   * @defaultValue Number(process.env.ES_ORT_INTRA_OP_THREADS), else 1
   */
  intraOpNumThreads?: number;
}

export interface NamedTensors {
  [name: string]: Tensor;
}

function specOf(meta: InferenceSession.ValueMetadata): TensorSpec | string {
  if (!meta.isTensor) return `'${meta.name}' is not a tensor (sequences and maps are not supported)`;
  const info = datatypeOfOrt(meta.type);
  if (!info) return `'${meta.name}' has element type ${meta.type}, which the v2 protocol cannot carry`;
  const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  return {
    name: meta.name,
    datatype: info.v2,
    info,
    shape,
    rankKnown: shape.length > 0,
    shapeText: `[${shape.join(',')}]`,
  };
}

function intraOpThreads(option: number | undefined): number {
  if (option !== undefined) return option;
  const env = Number(process.env.ES_ORT_INTRA_OP_THREADS);
  return Number.isInteger(env) && env >= 0 ? env : 1;
}

export class OnnxModel {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly inputByName: ReadonlyMap<string, TensorSpec>;
  readonly outputByName: ReadonlyMap<string, TensorSpec>;
  /** Outputs left out of metadata and results, with the reason (e.g. skl2onnx's ZipMap sequence of maps). */
  readonly skippedOutputs: readonly string[];
  /** How many times the session ran (a batch counts once). */
  runs = 0;
  readonly #session: InferenceSession;
  readonly #fetchAll: readonly string[];
  #inFlight = 0;
  #retired = false;
  #idle: (() => void) | undefined;
  #released: Promise<void> | undefined;

  private constructor(session: InferenceSession) {
    this.#session = session;
    const inputs: TensorSpec[] = [];
    for (const meta of session.inputMetadata) {
      const spec = specOf(meta);
      if (typeof spec === 'string') throw new ModelLoadError(`model input ${spec}`);
      inputs.push(spec);
    }
    const outputs: TensorSpec[] = [];
    const skipped: string[] = [];
    for (const meta of session.outputMetadata) {
      const spec = specOf(meta);
      if (typeof spec === 'string') skipped.push(`output ${spec}`);
      else outputs.push(spec);
    }
    if (outputs.length === 0)
      throw new ModelLoadError(`model has no output this server can return: ${skipped.join('; ')}`);
    this.inputs = inputs;
    this.outputs = outputs;
    this.inputByName = new Map(inputs.map((s) => [s.name, s]));
    this.outputByName = new Map(outputs.map((s) => [s.name, s]));
    this.skippedOutputs = skipped;
    this.#fetchAll = outputs.map((s) => s.name);
  }

  /** Parses and initialises a model; rejects with ModelLoadError naming onnxruntime's reason. */
  static async load(bytes: Uint8Array, options: OnnxModelOptions = {}): Promise<OnnxModel> {
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, {
        intraOpNumThreads: intraOpThreads(options.intraOpNumThreads),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      });
    } catch (err) {
      throw new ModelLoadError(`onnxruntime could not load the model: ${(err as Error).message}`, { cause: err });
    }
    try {
      return new OnnxModel(session);
    } catch (err) {
      await session.release().catch(() => {});
      throw err;
    }
  }

  /** Runs the model; `fetches` (output names) defaults to every output. */
  async run(feeds: NamedTensors, fetches: readonly string[] = this.#fetchAll): Promise<NamedTensors> {
    if (this.#retired) throw new Error('model was unloaded');
    this.#inFlight++;
    this.runs++;
    try {
      return (await this.#session.run(feeds, fetches as string[])) as NamedTensors;
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#idle?.();
    }
  }

  /**
   * Stops taking runs and frees the native session once the runs in flight finish (freeing it under a running
   * inference would crash the process). Resolves when freed.
   */
  retire(): Promise<void> {
    this.#retired = true;
    this.#released ??= new Promise<void>((resolve) => {
      this.#idle = resolve;
      if (this.#inFlight === 0) resolve();
    }).then(() => this.#session.release().catch(() => {}));
    return this.#released;
  }
}
