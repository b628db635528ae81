/**
 * onnxruntime tensors → v2 response tensors. The JSON is written by hand: int64 values stay exact (JSON.stringify
 * cannot write a bigint), NaN/±Infinity become null as orjson writes them for KServe, and a typed array's own
 * `join` is several times faster than building an array of numbers for JSON.stringify.
 */
import type { Tensor } from 'onnxruntime-node';
import { type DatatypeInfo, datatypeOfOrt } from './datatypes.ts';
import { fromHalfBits } from './fp16.ts';

type NumericData = Exclude<Tensor.DataType, string[]>;

function numberText(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

function finiteJoin(data: Float32Array | Float64Array, from: number, to: number): string {
  for (let i = from; i < to; i++) {
    if (!Number.isFinite(data[i]!)) {
      let s = '';
      for (let j = from; j < to; j++) s += (j > from ? ',' : '') + numberText(data[j]!);
      return s;
    }
  }
  return (from === 0 && to === data.length ? data : data.subarray(from, to)).join(',');
}

/** The JSON text of elements [from, to) of a tensor's data, without brackets. */
export function elementsJson(info: DatatypeInfo, data: Tensor.DataType, from: number, to: number): string {
  switch (info.kind) {
    case 'float':
      return finiteJoin(data as Float32Array | Float64Array, from, to);
    case 'int':
    case 'bigint': {
      const d = data as NumericData;
      return (from === 0 && to === d.length ? d : d.subarray(from, to)).join(',');
    }
    case 'bool': {
      const d = data as Uint8Array;
      let s = '';
      for (let i = from; i < to; i++) s += (i > from ? ',' : '') + (d[i] ? 'true' : 'false');
      return s;
    }
    case 'fp16': {
      const d = data as Uint16Array;
      let s = '';
      for (let i = from; i < to; i++) s += (i > from ? ',' : '') + numberText(fromHalfBits(d[i]!));
      return s;
    }
    case 'string': {
      const d = data as string[];
      let s = '';
      for (let i = from; i < to; i++) s += (i > from ? ',' : '') + JSON.stringify(d[i]);
      return s;
    }
  }
}

export function infoOf(tensor: Tensor): DatatypeInfo {
  const info = datatypeOfOrt(tensor.type);
  if (!info) throw new Error(`model produced a ${tensor.type} tensor, which the v2 protocol cannot carry`);
  return info;
}

/** `{"name":…,"datatype":…,"shape":[…]` of one output: the part its JSON and binary forms share. */
export function outputHead(name: string, tensor: Tensor): string {
  return `{"name":${JSON.stringify(name)},"datatype":"${infoOf(tensor).v2}","shape":[${tensor.dims.join(',')}]`;
}

/** `{"name":…,"datatype":…,"shape":[…],"data":[…]}` for one output. */
export function outputJson(name: string, tensor: Tensor): string {
  return `${outputHead(name, tensor)},"data":[${elementsJson(infoOf(tensor), tensor.data, 0, tensor.size)}]}`;
}

/** The tensor as JSON lists nested along its shape: for v1, one entry per row of dimension 0 (`predictions`). */
export function nestedJson(tensor: Tensor): string {
  const info = infoOf(tensor);
  const dims = tensor.dims;
  if (dims.length === 0) return elementsJson(info, tensor.data, 0, 1);
  const strides: number[] = new Array(dims.length);
  let stride = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= dims[i]!;
  }
  const walk = (axis: number, offset: number): string => {
    const n = dims[axis]!;
    if (axis === dims.length - 1) return `[${elementsJson(info, tensor.data, offset, offset + n)}]`;
    const parts: string[] = new Array(n);
    for (let i = 0; i < n; i++) parts[i] = walk(axis + 1, offset + i * strides[axis]!);
    return `[${parts.join(',')}]`;
  };
  return walk(0, 0);
}

/** Raw bytes of a tensor for the binary tensor extension (BYTES: 4-byte little-endian length + UTF-8). */
export function outputBytes(tensor: Tensor): Buffer {
  const info = infoOf(tensor);
  if (info.kind === 'string') {
    const parts: Buffer[] = [];
    for (const s of tensor.data as string[]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(b.length, 0);
      parts.push(len, b);
    }
    return Buffer.concat(parts);
  }
  const d = tensor.data as NumericData;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}
