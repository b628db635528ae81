/**
 * KServe v1 `:predict`: `{"instances": [...]}` → `{"predictions": [...]}`.
 *
 * v1 carries no datatypes or shapes, so they come from the model: instances are the rows of dimension 0. For a
 * model with one input each instance is that row (a nested list, or a scalar for a rank-1 input); for several
 * inputs each instance is an object keyed by input name (TF Serving's row format). `predictions` are the rows of
 * the model's first output, as KServe returns one prediction per instance.
 */
import { InvalidInputError } from './errors.ts';
import type { NamedTensors, TensorSpec } from './onnx-model.ts';
import type { ServedModel } from './served-model.ts';
import { checkShape, toTensor } from './tensor-decode.ts';
import { nestedJson } from './tensor-encode.ts';

function rowDims(row: unknown): number[] {
  const dims: number[] = [];
  let v = row;
  while (Array.isArray(v)) {
    dims.push(v.length);
    v = v[0];
  }
  return dims;
}

function tensorFor(model: string, spec: TensorSpec, rows: readonly unknown[]) {
  const shape = [rows.length, ...rowDims(rows[0])];
  checkShape(model, spec, shape);
  return toTensor(model, spec, shape, { json: rows });
}

export function parseInstances(served: ServedModel, body: unknown): NamedTensors {
  const model = served.name;
  const instances = (body as { instances?: unknown } | null)?.instances;
  if (typeof body !== 'object' || body === null || !Array.isArray(instances)) {
    throw new InvalidInputError('Expected "instances" to be a list');
  }
  if (instances.length === 0) throw new InvalidInputError('"instances" is empty');
  const specs = served.model.inputs;
  const feeds: NamedTensors = {};
  if (specs.length === 1) {
    feeds[specs[0]!.name] = tensorFor(model, specs[0]!, instances);
    return feeds;
  }
  for (const spec of specs) {
    const column = instances.map((inst, i) => {
      if (typeof inst !== 'object' || inst === null || Array.isArray(inst) || !(spec.name in inst)) {
        throw new InvalidInputError(
          `instance ${i} must be an object with a value for each input of model '${model}' (${specs.map((s) => s.name).join(', ')})`,
        );
      }
      return (inst as Record<string, unknown>)[spec.name];
    });
    feeds[spec.name] = tensorFor(model, spec, column);
  }
  return feeds;
}

export function encodePredictions(served: ServedModel, results: NamedTensors): string {
  const first = served.model.outputs[0]!.name;
  const tensor = results[first];
  if (!tensor) throw new Error(`the model returned no output '${first}'`);
  return `{"predictions":${nestedJson(tensor)}}`;
}
