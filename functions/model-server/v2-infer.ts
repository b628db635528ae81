/**
 * `POST /v2/models/{m}/infer`: request body → validated feeds, and outputs → response body. Also reads and writes
 * the binary tensor extension (Triton's, which tritonclient uses by default): tensor bytes after the JSON header,
 * whose length is in `Inference-Header-Content-Length`.
 */
import { InvalidInputError } from './errors.ts';
import type { NamedTensors } from './onnx-model.ts';
import type { ServedModel } from './served-model.ts';
import { checkDatatype, checkShape, type InputData, readShape, toTensor } from './tensor-decode.ts';
import { outputBytes, outputHead, outputJson } from './tensor-encode.ts';

export interface RequestedOutput {
  name: string;
  /** Answer this output's data as binary after the JSON (binary tensor extension). */
  binary: boolean;
}

export interface InferRequest {
  /** Echoed in the response. */
  id: string | undefined;
  feeds: NamedTensors;
  /** The outputs asked for, in order; undefined means all of them. */
  outputs: readonly RequestedOutput[] | undefined;
  /** `parameters.binary_data_output`: every output (not listed otherwise) as binary. */
  binaryOutput: boolean;
}

export interface InferAnswer {
  /** The JSON document (the whole body unless `binary` is set). */
  json: string;
  /** Binary tensor data following the JSON, in output order; undefined when every output is in the JSON. */
  binary: Buffer[] | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function binarySize(params: unknown, label: string): number | undefined {
  if (params === undefined) return undefined;
  if (!isObject(params)) throw new InvalidInputError(`parameters of ${label} must be an object`);
  const size = params.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
    throw new InvalidInputError(`binary_data_size of ${label} must be a non-negative integer`);
  }
  return size;
}

/**
 * Validates a parsed v2 request against the model and decodes its tensors. `binary` is the payload after the
 * JSON header when the binary tensor extension is used.
 */
export function parseInferRequest(served: ServedModel, body: unknown, binary?: Buffer): InferRequest {
  const model = served.name;
  const specs = served.model.inputByName;
  if (!isObject(body)) throw new InvalidInputError('Unrecognized request format: the body must be a JSON object');
  const inputs = body.inputs;
  if (!Array.isArray(inputs))
    throw new InvalidInputError(`request for model '${model}' needs "inputs", a list of tensors`);
  const id = body.id;
  if (id !== undefined && typeof id !== 'string') throw new InvalidInputError('"id" must be a string');
  const params = body.parameters;
  if (params !== undefined && !isObject(params)) throw new InvalidInputError('"parameters" must be an object');
  const feeds: NamedTensors = {};
  let offset = 0;
  for (const input of inputs) {
    if (!isObject(input)) throw new InvalidInputError(`each input of a request for model '${model}' must be an object`);
    const name = input.name;
    const spec = typeof name === 'string' ? specs.get(name) : undefined;
    if (!spec) throw new InvalidInputError(`unexpected inference input ${JSON.stringify(name)} for model '${model}'`);
    if (feeds[spec.name]) throw new InvalidInputError(`input '${spec.name}' appears twice in the request`);
    checkDatatype(model, spec, input.datatype);
    const shape = readShape(model, spec.name, input.shape);
    checkShape(model, spec, shape);
    const size = binarySize(input.parameters, `input '${spec.name}'`);
    let data: InputData;
    if (size !== undefined) {
      if (!binary || offset + size > binary.length) {
        throw new InvalidInputError(
          `input '${spec.name}' declares ${size} bytes of binary data, but the request carries ${binary ? binary.length - offset : 0} more (is Inference-Header-Content-Length set?)`,
        );
      }
      data = { binary: binary.subarray(offset, offset + size) };
      offset += size;
    } else {
      if (input.data === undefined) throw new InvalidInputError(`input '${spec.name}' has no data`);
      data = { json: input.data };
    }
    feeds[spec.name] = toTensor(model, spec, shape, data);
  }
  if (inputs.length !== specs.size) {
    for (const name of specs.keys()) {
      if (!feeds[name]) throw new InvalidInputError(`missing inference input '${name}' for model '${model}'`);
    }
  }
  if (binary && offset !== binary.length) {
    throw new InvalidInputError(`the request carries ${binary.length - offset} bytes of binary data no input claims`);
  }
  const binaryOutput = params?.binary_data_output === true;
  let outputs: RequestedOutput[] | undefined;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw new InvalidInputError('"outputs" must be a list');
    outputs = [];
    for (const o of body.outputs) {
      const name = isObject(o) ? o.name : undefined;
      if (typeof name !== 'string' || !served.model.outputByName.has(name)) {
        throw new InvalidInputError(`unexpected inference output ${JSON.stringify(name)} for model '${model}'`);
      }
      const p = (o as Record<string, unknown>).parameters;
      const b = isObject(p) && typeof p.binary_data === 'boolean' ? p.binary_data : binaryOutput;
      outputs.push({ name, binary: b });
    }
  }
  return { id, feeds, outputs, binaryOutput };
}

const quote = (s: string) => JSON.stringify(s);

/** The response to an inference, JSON and (when asked) the binary tensor data. */
export function encodeInferResponse(served: ServedModel, req: InferRequest, results: NamedTensors): InferAnswer {
  const wanted = req.outputs ?? served.model.outputs.map((s) => ({ name: s.name, binary: req.binaryOutput }));
  let json = `{"model_name":${quote(served.name)},"model_version":"${served.version}"`;
  if (req.id !== undefined) json += `,"id":${quote(req.id)}`;
  json += ',"outputs":[';
  let binary: Buffer[] | undefined;
  for (let i = 0; i < wanted.length; i++) {
    const { name, binary: asBinary } = wanted[i]!;
    const tensor = results[name];
    if (!tensor) throw new Error(`the model returned no output '${name}'`);
    if (i > 0) json += ',';
    if (asBinary) {
      const bytes = outputBytes(tensor);
      if (binary) binary.push(bytes);
      else binary = [bytes];
      json += `${outputHead(name, tensor)},"parameters":{"binary_data_size":${bytes.length}}}`;
    } else {
      json += outputJson(name, tensor);
    }
  }
  return { json: `${json}]}`, binary };
}

/** Output names to compute when the request runs alone (undefined: all). */
export function fetchesOf(req: InferRequest): string[] | undefined {
  return req.outputs?.map((o) => o.name);
}
