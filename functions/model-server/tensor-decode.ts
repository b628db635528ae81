/**
 * v2 request tensors → onnxruntime tensors, checked against the model's input spec. Validation is written by
 * hand (no schema library) because it sits on every inference; messages follow Triton's/KServe's wording so
 * users of those servers recognise them.
 */
import { Tensor } from 'onnxruntime-node';
import { type DatatypeInfo, datatypeByName } from './datatypes.ts';
import { InvalidInputError } from './errors.ts';
import { toHalfBits } from './fp16.ts';
import type { TensorSpec } from './onnx-model.ts';

/** Where an input's data comes from: JSON `data`, or a slice of the binary tensor extension's payload. */
export type InputData = { json: unknown } | { binary: Buffer };

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Reads `shape` from a request, returning its element count. */
export function readShape(model: string, name: string, shape: unknown): number[] {
  if (!Array.isArray(shape))
    throw new InvalidInputError(`shape of input '${name}' for model '${model}' must be a list`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new InvalidInputError(
        `shape of input '${name}' for model '${model}' must hold non-negative integers, got ${JSON.stringify(shape)}`,
      );
    }
  }
  return shape as number[];
}

/** Checks rank and every fixed dimension; -1 in the spec accepts any size. */
export function checkShape(model: string, spec: TensorSpec, shape: readonly number[]): void {
  if (!spec.rankKnown) return;
  let ok = shape.length === spec.shape.length;
  for (let i = 0; ok && i < shape.length; i++) {
    const want = spec.shape[i]!;
    if (want !== -1 && want !== shape[i]) ok = false;
  }
  if (!ok) {
    throw new InvalidInputError(
      `unexpected shape for input '${spec.name}' for model '${model}'. Expected ${spec.shapeText}, got ${shapeText(shape)}`,
    );
  }
}

/** Checks the datatype named in a request against the model's. */
export function checkDatatype(model: string, spec: TensorSpec, datatype: unknown): DatatypeInfo {
  const info = typeof datatype === 'string' ? datatypeByName(datatype) : undefined;
  if (!info) {
    throw new InvalidInputError(`invalid datatype ${JSON.stringify(datatype)} for input '${spec.name}'`);
  }
  if (info !== spec.info) {
    throw new InvalidInputError(
      `inference input '${spec.name}' data-type is '${info.v2}', but model '${model}' expects '${spec.datatype}'`,
    );
  }
  return info;
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

class Filler {
  pos = 0;
  constructor(
    readonly info: DatatypeInfo,
    readonly target: Exclude<Tensor.DataType, string[]> | string[],
    readonly count: number,
    readonly label: string,
  ) {}

  fill(data: readonly unknown[]): void {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (Array.isArray(v)) this.fill(v);
      else this.put(v);
    }
  }

  put(v: unknown): void {
    if (this.pos >= this.count) throw this.countError(this.pos + 1);
    const t = this.target as unknown as { [i: number]: unknown };
    const info = this.info;
    switch (info.kind) {
      case 'float':
        if (typeof v !== 'number') throw this.valueError(v, 'a number');
        t[this.pos] = v;
        break;
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < (info.min as number) || v > (info.max as number)) {
          throw this.valueError(v, `an integer in [${info.min}, ${info.max}]`);
        }
        t[this.pos] = v;
        break;
      case 'bigint': {
        let b: bigint | undefined;
        if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
        else if (typeof v === 'string' && /^-?\d+$/.test(v)) b = BigInt(v);
        if (b === undefined || b < (info.min as bigint) || b > (info.max as bigint)) {
          throw this.valueError(v, `an integer in [${info.min}, ${info.max}]`);
        }
        t[this.pos] = b;
        break;
      }
      case 'bool':
        if (v === true || v === 1) t[this.pos] = 1;
        else if (v === false || v === 0) t[this.pos] = 0;
        else throw this.valueError(v, 'true or false');
        break;
      case 'fp16':
        if (typeof v !== 'number') throw this.valueError(v, 'a number');
        t[this.pos] = toHalfBits(v);
        break;
      case 'string':
        if (typeof v !== 'string') throw this.valueError(v, 'a string');
        t[this.pos] = v;
        break;
    }
    this.pos++;
  }

  valueError(v: unknown, expected: string): InvalidInputError {
    const shown = JSON.stringify(v) ?? String(v);
    return new InvalidInputError(
      `invalid value at position ${this.pos} of ${this.label}: ${shown.slice(0, 40)} is not ${expected}`,
    );
  }

  countError(got: number | string): InvalidInputError {
    return new InvalidInputError(
      `unexpected number of elements in ${this.label}: shape needs ${this.count}, got ${got}`,
    );
  }
}

function fromBinary(info: DatatypeInfo, bytes: Buffer, count: number, label: string): Tensor.DataType {
  if (info.kind === 'string') {
    const out: string[] = new Array(count);
    let off = 0;
    for (let i = 0; i < count; i++) {
      if (off + 4 > bytes.length)
        throw new InvalidInputError(`binary data of ${label} ends after ${i} of ${count} elements`);
      const len = bytes.readUInt32LE(off);
      off += 4;
      if (off + len > bytes.length) throw new InvalidInputError(`binary data of ${label} ends inside element ${i}`);
      out[i] = bytes.toString('utf8', off, off + len);
      off += len;
    }
    if (off !== bytes.length)
      throw new InvalidInputError(`binary data of ${label} has ${bytes.length - off} extra bytes`);
    return out;
  }
  if (bytes.length !== count * info.bytes) {
    throw new InvalidInputError(
      `unexpected binary data size for ${label}: shape needs ${count * info.bytes} bytes, got ${bytes.length}`,
    );
  }
  const target = info.alloc!(count) as Exclude<Tensor.DataType, string[]>;
  // Copied rather than viewed: the slice of the request body is rarely aligned for the element size.
  new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(bytes);
  return target;
}

/**
 * Builds the tensor of one input. `shape` must already be read (readShape) and checked (checkShape); the data's
 * element count must match it, whether `data` is flat or nested.
 */
export function toTensor(model: string, spec: TensorSpec, shape: readonly number[], data: InputData): Tensor {
  const info = spec.info;
  const count = elementCount(shape);
  const label = `input '${spec.name}' for model '${model}'`;
  let values: Tensor.DataType;
  if ('binary' in data) {
    values = fromBinary(info, data.binary, count, label);
  } else {
    if (!Array.isArray(data.json)) throw new InvalidInputError(`data of ${label} must be a list`);
    const target = info.kind === 'string' ? new Array<string>(count) : info.alloc!(count);
    const filler = new Filler(info, target as Exclude<Tensor.DataType, string[]>, count, label);
    filler.fill(data.json);
    if (filler.pos !== count) throw filler.countError(filler.pos);
    values = target;
  }
  return new Tensor(info.ort, values as never, shape);
}
