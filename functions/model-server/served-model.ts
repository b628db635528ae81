/**
 * A model as the server serves it: the onnxruntime session, its precomputed v2 metadata, and its batcher when
 * batching is on. The repository swaps whole ServedModels, so a request holds one consistent version throughout.
 */
import { Batcher, type BatchingOptions, unbatchableReason } from './batcher.ts';
import type { NamedTensors, OnnxModel, TensorSpec } from './onnx-model.ts';

/** What a model config entry (or a load call) says about one model. */
export interface ModelSpec {
  /** `file://`, `http(s)://` or `s3://` URI of the `.onnx` file or of a directory holding exactly one. */
  storageUri: string;
  /** @defaultValue 'onnx' (the only framework this server runs) */
  framework?: string;
  /** Memory the model needs (KServe's `memory`, e.g. `64Mi`); recorded, not enforced. @defaultValue undefined */
  memory?: string;
  /** Micro-batching of concurrent requests; off when absent. @defaultValue undefined */
  batching?: BatchingOptions;
}

export const PLATFORM = 'onnxruntime_onnx';
export const MODEL_VERSION = '1';

const specJson = (s: TensorSpec) => ({ name: s.name, datatype: s.datatype, shape: s.shape });

export class ServedModel {
  readonly name: string;
  readonly version = MODEL_VERSION;
  readonly spec: ModelSpec;
  readonly model: OnnxModel;
  readonly batcher: Batcher | undefined;
  /** Why batching was asked for but is off (the model's shapes do not allow it). */
  readonly batchingOff: string | undefined;
  /** `GET /v2/models/{name}` body, built once. */
  readonly metadataJson: string;

  constructor(name: string, spec: ModelSpec, model: OnnxModel) {
    this.name = name;
    this.spec = spec;
    this.model = model;
    const reason = spec.batching ? unbatchableReason(model) : undefined;
    this.batchingOff = reason;
    this.batcher = spec.batching && !reason ? new Batcher(model, spec.batching) : undefined;
    this.metadataJson = JSON.stringify({
      name,
      versions: [MODEL_VERSION],
      platform: PLATFORM,
      inputs: model.inputs.map(specJson),
      outputs: model.outputs.map(specJson),
    });
  }

  /**
   * Runs validated feeds. `fetches` limits the outputs computed when the request runs alone; a batched run
   * computes every output and the caller picks its own.
   */
  infer(feeds: NamedTensors, fetches?: readonly string[]): Promise<NamedTensors> {
    return this.batcher ? this.batcher.submit(feeds) : this.model.run(feeds, fetches);
  }

  /** Frees the model once requests already handed to it (batched ones included) have their answers. */
  async retire(): Promise<void> {
    await this.batcher?.drain();
    await this.model.retire();
  }
}
