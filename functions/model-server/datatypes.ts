/**
 * The Open Inference Protocol v2 tensor datatypes and how each maps onto onnxruntime's tensor types.
 *
 * One table drives decoding (JSON/binary → typed array), encoding (typed array → JSON/binary) and metadata, so a
 * datatype is either fully supported or not at all.
 */
import type { Tensor } from 'onnxruntime-node';

export type V2Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** onnxruntime's element types this server can feed and fetch (4-bit types are left out: no v2 datatype). */
export type OrtType = Exclude<Tensor.Type, 'uint4' | 'int4'>;

/** How values of one datatype are read from JSON and held in memory. */
export type ElementKind = 'float' | 'int' | 'bigint' | 'bool' | 'fp16' | 'string';

export interface DatatypeInfo {
  readonly v2: V2Datatype;
  readonly ort: OrtType;
  readonly kind: ElementKind;
  /** Bytes per element in the binary tensor extension; 0 for BYTES (length-prefixed). */
  readonly bytes: number;
  /** Inclusive bounds for `int` kinds (and `bigint`, as bigint). */
  readonly min?: number | bigint;
  readonly max?: number | bigint;
  /** Allocates the storage onnxruntime expects for `n` elements (not used for BYTES). */
  readonly alloc?: (n: number) => Tensor.DataType;
}

const info = (
  v2: V2Datatype,
  ort: OrtType,
  kind: ElementKind,
  bytes: number,
  alloc?: (n: number) => Tensor.DataType,
  min?: number | bigint,
  max?: number | bigint,
): DatatypeInfo => ({ v2, ort, kind, bytes, alloc, min, max });

const TABLE: readonly DatatypeInfo[] = [
  info('BOOL', 'bool', 'bool', 1, (n) => new Uint8Array(n)),
  info('UINT8', 'uint8', 'int', 1, (n) => new Uint8Array(n), 0, 0xff),
  info('UINT16', 'uint16', 'int', 2, (n) => new Uint16Array(n), 0, 0xffff),
  info('UINT32', 'uint32', 'int', 4, (n) => new Uint32Array(n), 0, 0xffffffff),
  info('UINT64', 'uint64', 'bigint', 8, (n) => new BigUint64Array(n), 0n, 0xffffffffffffffffn),
  info('INT8', 'int8', 'int', 1, (n) => new Int8Array(n), -0x80, 0x7f),
  info('INT16', 'int16', 'int', 2, (n) => new Int16Array(n), -0x8000, 0x7fff),
  info('INT32', 'int32', 'int', 4, (n) => new Int32Array(n), -0x80000000, 0x7fffffff),
  info('INT64', 'int64', 'bigint', 8, (n) => new BigInt64Array(n), -0x8000000000000000n, 0x7fffffffffffffffn),
  info('FP16', 'float16', 'fp16', 2, (n) => new Uint16Array(n)),
  info('FP32', 'float32', 'float', 4, (n) => new Float32Array(n)),
  info('FP64', 'float64', 'float', 8, (n) => new Float64Array(n)),
  info('BYTES', 'string', 'string', 0),
];

const BY_V2 = new Map<string, DatatypeInfo>(TABLE.map((t) => [t.v2, t]));
const BY_ORT = new Map<string, DatatypeInfo>(TABLE.map((t) => [t.ort, t]));

/** The datatype named in a request (case-insensitive, as KServe reads it), or undefined if unknown. */
export function datatypeByName(name: string): DatatypeInfo | undefined {
  return BY_V2.get(name) ?? BY_V2.get(name.toUpperCase());
}

/** The v2 datatype of an onnxruntime element type, or undefined when v2 has none. */
export function datatypeOfOrt(type: string): DatatypeInfo | undefined {
  return BY_ORT.get(type);
}

export const V2_DATATYPES: readonly V2Datatype[] = TABLE.map((t) => t.v2);
