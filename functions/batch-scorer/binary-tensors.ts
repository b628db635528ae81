/**
 * The v2 binary tensor data extension (Triton's `binary_tensor_data`, which KServe servers and ours speak): tensor
 * bytes follow the JSON of a request or response, the JSON's length in `Inference-Header-Content-Length`. A batch
 * moves whole chunks of numbers, and writing and reading them as JSON text would cost more than the inference.
 */
import type { V2Tensor } from './tensors.ts';

export const HEADER_LENGTH = 'inference-header-content-length';

type Typed =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

const NUMBER_ARRAYS: Record<string, { from(v: ArrayLike<number>): Typed; new (b: ArrayBuffer): Typed }> = {
  FP32: Float32Array,
  FP64: Float64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
};

/** Whether a tensor of `datatype` can travel as binary here (BYTES and FP16 stay JSON). */
export function binaryCapable(datatype: string): boolean {
  return datatype in NUMBER_ARRAYS || datatype === 'INT64' || datatype === 'UINT64' || datatype === 'BOOL';
}

function toBytes(t: V2Tensor): Buffer {
  const data = t.data as number[];
  let typed: Typed;
  if (t.datatype === 'INT64') typed = BigInt64Array.from(data, (v) => BigInt(v));
  else if (t.datatype === 'UINT64') typed = BigUint64Array.from(data, (v) => BigInt(v));
  else if (t.datatype === 'BOOL') typed = Uint8Array.from(data as unknown as boolean[], (v) => (v ? 1 : 0));
  else typed = NUMBER_ARRAYS[t.datatype]!.from(data);
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** A request body with every input's data as binary, asking for binary outputs. */
export function encodeBinaryRequest(id: string, inputs: readonly V2Tensor[]): { body: Buffer; headerLength: number } {
  const parts = inputs.map(toBytes);
  const head = JSON.stringify({
    id,
    inputs: inputs.map((t, i) => ({
      name: t.name,
      shape: t.shape,
      datatype: t.datatype,
      parameters: { binary_data_size: parts[i]!.length },
    })),
    parameters: { binary_data_output: true },
  });
  const headBytes = Buffer.from(head);
  return { body: Buffer.concat([headBytes, ...parts]), headerLength: headBytes.length };
}

function fromBytes(datatype: string, bytes: Buffer): number[] | boolean[] {
  // A copy: tensor bytes after a JSON header of any length are not aligned for a typed-array view.
  const own = new Uint8Array(bytes).buffer;
  if (datatype === 'INT64') return Array.from(new BigInt64Array(own), Number);
  if (datatype === 'UINT64') return Array.from(new BigUint64Array(own), Number);
  if (datatype === 'BOOL') return Array.from(new Uint8Array(own), (v) => v !== 0);
  const Type = NUMBER_ARRAYS[datatype];
  if (!Type) throw new Error(`binary output of datatype ${datatype} is not supported`);
  return Array.from(new Type(own) as ArrayLike<number>);
}

/**
 * The outputs of a response body: JSON only, or (with `headerLength`) JSON followed by the binary data of the
 * outputs whose `parameters.binary_data_size` says so, in output order.
 */
export function decodeResponse(body: Buffer, headerLength: number | undefined): { outputs?: unknown } {
  if (headerLength === undefined) return JSON.parse(body.toString('utf8'));
  if (!(headerLength >= 0 && headerLength <= body.length)) {
    throw new Error(`Inference-Header-Content-Length ${headerLength} does not fit a body of ${body.length} bytes`);
  }
  const answer = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as { outputs?: unknown };
  let offset = headerLength;
  if (Array.isArray(answer.outputs)) {
    for (const o of answer.outputs as (V2Tensor & { parameters?: { binary_data_size?: number } })[]) {
      const size = o.parameters?.binary_data_size;
      if (size === undefined) continue;
      if (offset + size > body.length) throw new Error(`output ${o.name} claims ${size} bytes past the body's end`);
      o.data = fromBytes(o.datatype, body.subarray(offset, offset + size));
      offset += size;
    }
  }
  return answer;
}
