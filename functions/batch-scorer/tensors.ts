/**
 * Rows to v2 input tensors and v2 output tensors back to rows.
 *
 * Which values of a row feed the model: an array row is the features; an object row gives each model input its
 * field of the same name when it has one, else (one-input models) its `features` field, else every field but
 * `id` in order (CSV columns, JSON keys). A row whose values do not fit the model's input (wrong count, not a
 * number) fails on its own with the reason; it never fails the chunk.
 */
import type { InputRow } from './types.ts';

/** A tensor as v2 model metadata describes it (`-1` = any size). */
export interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

/** The part of `GET /v2/models/{m}` a batch needs. */
export interface ModelMeta {
  name: string;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

/** A v2 tensor in a request or response. */
export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/** A row that cannot be turned into model input; its message is the failed row's reason. */
export class RowError extends Error {}

const INTEGER_TYPES = new Set(['INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);

function flatten(value: unknown, into: unknown[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, into);
  else into.push(value);
}

function toElement(value: unknown, datatype: string, input: string): unknown {
  if (datatype === 'BYTES') {
    if (typeof value === 'string') return value;
    throw new RowError(`input ${input}: ${JSON.stringify(value)} is not a string`);
  }
  if (datatype === 'BOOL') {
    if (typeof value === 'boolean') return value;
    throw new RowError(`input ${input}: ${JSON.stringify(value)} is not a boolean`);
  }
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new RowError(`input ${input}: ${JSON.stringify(value)} is not a number`);
  }
  if (INTEGER_TYPES.has(datatype) && !Number.isInteger(n)) {
    throw new RowError(`input ${input} is ${datatype}: ${n} is not an integer`);
  }
  return n;
}

function valuesFor(row: unknown, input: TensorMeta, inputs: readonly TensorMeta[]): unknown {
  if (Array.isArray(row)) {
    if (inputs.length === 1) return row;
    throw new RowError(`model has ${inputs.length} inputs; a row must be an object with a field per input`);
  }
  if (typeof row !== 'object' || row === null) throw new RowError(`row is ${JSON.stringify(row)}, not an object`);
  const fields = row as Record<string, unknown>;
  if (input.name in fields) return fields[input.name];
  if (inputs.length > 1) throw new RowError(`row has no field "${input.name}" (a model input)`);
  if ('features' in fields) return fields.features;
  return Object.entries(fields)
    .filter(([key]) => key !== 'id')
    .map(([, value]) => value);
}

const perRowCache = new WeakMap<TensorMeta, number | undefined>();

/** Elements one row contributes to `input`, when the model's shape fixes it (every dim after the batch dim). */
function elementsPerRow(input: TensorMeta): number | undefined {
  if (perRowCache.has(input)) return perRowCache.get(input);
  const rest = input.shape.slice(1);
  const n = rest.every((d) => d > 0) ? rest.reduce((a, b) => a * b, 1) : undefined;
  perRowCache.set(input, n);
  return n;
}

/** Whether `values` are already what a numeric input takes: finite numbers (integers for integer types). */
function plainNumbers(values: readonly unknown[], datatype: string): boolean {
  if (datatype === 'BYTES' || datatype === 'BOOL') return false;
  const integers = INTEGER_TYPES.has(datatype);
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v) || (integers && !Number.isInteger(v))) return false;
  }
  return true;
}

/** A row's values per model input, flattened and checked; throws RowError. */
export function rowTensors(row: unknown, model: ModelMeta): unknown[][] {
  return model.inputs.map((input) => {
    const value = valuesFor(row, input, model.inputs);
    const want = elementsPerRow(input);
    // The common row, a flat array of numbers of the right length, is taken as it is (no copy per row).
    if (
      Array.isArray(value) &&
      value.length > 0 &&
      (want === undefined || value.length === want) &&
      plainNumbers(value, input.datatype)
    ) {
      return value;
    }
    const flat: unknown[] = [];
    flatten(value, flat);
    if (want !== undefined && flat.length !== want) {
      throw new RowError(`row has ${flat.length} values for input ${input.name}; model ${model.name} expects ${want}`);
    }
    if (flat.length === 0) throw new RowError(`row has no values for input ${input.name}`);
    return flat.map((v) => toElement(v, input.datatype, input.name));
  });
}

/** Shape of `rows` stacked rows of `perRow` elements, following the model's shape where it is fixed. */
function batchShape(input: TensorMeta, rows: number, perRow: number): number[] {
  const rest = input.shape.slice(1);
  const known = rest.filter((d) => d > 0).reduce((a, b) => a * b, 1);
  const unknown = rest.filter((d) => d <= 0).length;
  if (rest.length === 0) return [rows];
  if (unknown === 0) return [rows, ...rest];
  if (unknown === 1 && perRow % known === 0) return [rows, ...rest.map((d) => (d > 0 ? d : perRow / known))];
  return [rows, perRow];
}

/** Input rows already converted by rowTensors, stacked into one request's tensors. */
export function stackInputs(model: ModelMeta, perRow: unknown[][][]): V2Tensor[] {
  return model.inputs.map((input, i) => {
    const first = perRow[0]?.[i] ?? [];
    const data: unknown[] = [];
    for (const row of perRow) for (const v of row[i]!) data.push(v);
    return { name: input.name, shape: batchShape(input, perRow.length, first.length), datatype: input.datatype, data };
  });
}

function nest(flat: unknown[], dims: readonly number[]): unknown {
  if (dims.length <= 1) return flat;
  const step = flat.length / dims[0]!;
  return Array.from({ length: dims[0]! }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), dims.slice(1)));
}

/** An element as JSON.stringify writes it. */
function elementJson(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? `${v}` : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v) ?? 'null';
}

/**
 * One JSON object per input row, as text: `{"id": …, "<output>": value, …}`. A `[rows]` output gives each row a
 * scalar, a `[rows, k]` output an array of k, higher ranks nested arrays; an output named `id` yields to the row's
 * id. The text is written straight from the tensors, without an object per row to stringify. Throws when the
 * server's answer does not have a row per row.
 */
export function scoredLines(outputs: readonly V2Tensor[], rows: readonly InputRow[]): string[] {
  const perOutput = outputs.map((o) => {
    // Binary outputs (and most JSON ones) are flat already: no copy then.
    let flat = o.data;
    if (!Array.isArray(flat) || flat.some(Array.isArray)) {
      flat = [];
      flatten(o.data, flat);
    }
    const dims = o.shape.slice(1);
    const per = dims.reduce((a, b) => a * b, 1);
    if (o.shape[0] !== rows.length || flat.length !== rows.length * per) {
      throw new Error(
        `output ${o.name} has shape [${o.shape.join(',')}] (${flat.length} values) for ${rows.length} rows`,
      );
    }
    return { key: `,${JSON.stringify(o.name)}:`, flat, dims, per };
  });
  const written = perOutput.filter((_, i) => outputs[i]!.name !== 'id');
  const lines = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    let line = `{"id":${JSON.stringify(rows[i]!.id)}`;
    for (const { key, flat, dims, per } of written) {
      const from = i * per;
      if (dims.length === 0) line += key + elementJson(flat[i]);
      else if (dims.length === 1) {
        line += `${key}[`;
        for (let j = from; j < from + per; j++) line += j === from ? elementJson(flat[j]) : `,${elementJson(flat[j])}`;
        line += ']';
      } else line += key + JSON.stringify(nest(flat.slice(from, from + per), dims));
    }
    lines[i] = `${line}}`;
  }
  return lines;
}
