/**
 * A minimal ONNX graph writer over the protobufjs static module of `onnx-proto`: enough to build the small test and
 * demo models of this repository (iris MLP, Identity/Add/Cast graphs of every v2 datatype) without Python.
 */
import onnxProto from 'onnx-proto';
import type { V2Datatype } from '../../model-server/datatypes.ts';

const { onnx } = onnxProto;

/** Open Inference Protocol v2 tensor datatype names (the model server's table is the one definition). */
export type { V2Datatype };

const ELEM_TYPES: Record<V2Datatype, number> = {
  BOOL: onnx.TensorProto.DataType.BOOL,
  UINT8: onnx.TensorProto.DataType.UINT8,
  UINT16: onnx.TensorProto.DataType.UINT16,
  UINT32: onnx.TensorProto.DataType.UINT32,
  UINT64: onnx.TensorProto.DataType.UINT64,
  INT8: onnx.TensorProto.DataType.INT8,
  INT16: onnx.TensorProto.DataType.INT16,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
  FP16: onnx.TensorProto.DataType.FLOAT16,
  FP32: onnx.TensorProto.DataType.FLOAT,
  FP64: onnx.TensorProto.DataType.DOUBLE,
  BYTES: onnx.TensorProto.DataType.STRING,
};

/** The ONNX `TensorProto.DataType` number for a v2 datatype (what a `Cast` node's `to` attribute takes). */
export function onnxElemType(datatype: V2Datatype): number {
  const type = ELEM_TYPES[datatype];
  if (type === undefined) throw new Error(`unknown v2 datatype ${String(datatype)}`);
  return type;
}

/** A graph input or output. */
export interface ValueInfo {
  /** Tensor name, as clients address it. */
  name: string;
  /** Element type by v2 datatype name. */
  datatype: V2Datatype;
  /**
   * Dimensions: a number is fixed, `-1` or `null` is dynamic (left unnamed, so two dynamic dims are independent),
   * a string is a named symbolic dimension (equal names mean equal sizes).
   */
  shape: readonly (number | string | null)[];
}

/** A constant tensor stored in the graph (weights, biases, constants for Sub/Div…). */
export interface Initializer {
  /** Tensor name, referenced by node inputs. */
  name: string;
  /** Element type by v2 datatype name. */
  datatype: V2Datatype;
  /** Fixed dimensions; their product must equal the number of values. */
  dims: readonly number[];
  /** Values in row-major order: numbers (bigints allowed for 64-bit integers), booleans, or strings for BYTES. */
  values: ArrayLike<number> | readonly bigint[] | readonly boolean[] | readonly string[];
}

/** An explicitly typed attribute, for the cases a plain value would be inferred wrongly (e.g. a whole-number float). */
export type TypedAttribute =
  | { float: number }
  | { floats: readonly number[] }
  | { int: number }
  | { ints: readonly number[] }
  | { tensor: Initializer };

/**
 * A node attribute. Plain numbers that are integers become INT, other numbers FLOAT; number arrays become INTS when
 * every element is an integer, else FLOATS; strings become STRING; string arrays STRINGS.
 */
export type AttributeValue = number | string | readonly number[] | readonly string[] | TypedAttribute;

/** One operator of the graph. */
export interface NodeSpec {
  /** Operator type, e.g. `Gemm`, `Softmax`, `Cast`. */
  op: string;
  /** Input tensor names (use `''` for an omitted optional input). */
  inputs: readonly string[];
  /** Output tensor names. */
  outputs: readonly string[];
  /** Operator attributes by name. */
  attributes?: Record<string, AttributeValue>;
  /**
   * Node name.
   * @defaultValue `<op>_<index>`
   */
  name?: string;
  /**
   * Operator domain.
   * @defaultValue `''` (the default ONNX domain)
   */
  domain?: string;
}

/** Everything `onnxModel` needs to write a model. */
export interface OnnxModelSpec {
  /** Graph inputs (initializers are not listed here). */
  inputs: readonly ValueInfo[];
  /** Graph outputs. */
  outputs: readonly ValueInfo[];
  /** Operators, in topological order. */
  nodes: readonly NodeSpec[];
  /**
   * Constant tensors.
   * @defaultValue `[]`
   */
  initializers?: readonly Initializer[];
  /**
   * Default-domain opset version.
   * @defaultValue 13
   */
  opset?: number;
  /**
   * Graph name.
   * @defaultValue `'graph'`
   */
  name?: string;
  /**
   * Model metadata (`metadata_props`), e.g. class labels.
   * @defaultValue `{}`
   */
  metadata?: Record<string, string>;
}

/** IR version 8 is what onnx-proto 8 describes; onnxruntime accepts it with any opset up to 17. */
const IR_VERSION = 8;

function valueInfo(info: ValueInfo): onnxProto.onnx.IValueInfoProto {
  const dim = info.shape.map((d): onnxProto.onnx.TensorShapeProto.IDimension => {
    if (typeof d === 'string') return { dimParam: d };
    if (d === null || d < 0) return {};
    return { dimValue: d };
  });
  return {
    name: info.name,
    type: { tensorType: { elemType: onnxElemType(info.datatype), shape: { dim } } },
  };
}

const BYTE_WIDTH: Partial<Record<V2Datatype, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** Little-endian raw bytes, the most compact and type-uniform way to store numeric tensors. */
function rawData(datatype: V2Datatype, values: Initializer['values']): Uint8Array {
  const width = BYTE_WIDTH[datatype];
  if (width === undefined) throw new Error(`no raw encoding for ${datatype}`);
  const view = new DataView(new ArrayBuffer(width * values.length));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const at = i * width;
    const n = typeof v === 'boolean' ? Number(v) : typeof v === 'bigint' ? v : Number(v);
    switch (datatype) {
      case 'BOOL':
      case 'UINT8':
        view.setUint8(at, Number(n));
        break;
      case 'INT8':
        view.setInt8(at, Number(n));
        break;
      case 'UINT16':
        view.setUint16(at, Number(n), true);
        break;
      case 'INT16':
        view.setInt16(at, Number(n), true);
        break;
      case 'FP16':
        throw new Error('FP16 initializers are not supported');
      case 'UINT32':
        view.setUint32(at, Number(n), true);
        break;
      case 'INT32':
        view.setInt32(at, Number(n), true);
        break;
      case 'FP32':
        view.setFloat32(at, Number(n), true);
        break;
      case 'UINT64':
        view.setBigUint64(at, BigInt(n), true);
        break;
      case 'INT64':
        view.setBigInt64(at, BigInt(n), true);
        break;
      case 'FP64':
        view.setFloat64(at, Number(n), true);
        break;
    }
  }
  return new Uint8Array(view.buffer);
}

function tensor(init: Initializer): onnxProto.onnx.ITensorProto {
  const count = init.dims.reduce((a, b) => a * b, 1);
  if (count !== init.values.length) {
    throw new Error(
      `initializer ${init.name}: dims ${JSON.stringify(init.dims)} hold ${count} values, got ${init.values.length}`,
    );
  }
  const base = { name: init.name, dims: [...init.dims], dataType: onnxElemType(init.datatype) };
  if (init.datatype === 'BYTES') {
    const encoder = new TextEncoder();
    return { ...base, stringData: Array.from(init.values as ArrayLike<string>, (s) => encoder.encode(String(s))) };
  }
  return { ...base, rawData: rawData(init.datatype, init.values) };
}

const AttributeType = onnx.AttributeProto.AttributeType;

function attribute(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, type: AttributeType.INT, i: value }
      : { name, type: AttributeType.FLOAT, f: value };
  }
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) {
      return { name, type: AttributeType.STRINGS, strings: value.map((v: string) => new TextEncoder().encode(v)) };
    }
    const nums = value as readonly number[];
    return nums.every(Number.isInteger)
      ? { name, type: AttributeType.INTS, ints: [...nums] }
      : { name, type: AttributeType.FLOATS, floats: [...nums] };
  }
  const typed = value as TypedAttribute;
  if ('float' in typed) return { name, type: AttributeType.FLOAT, f: typed.float };
  if ('floats' in typed) return { name, type: AttributeType.FLOATS, floats: [...typed.floats] };
  if ('int' in typed) return { name, type: AttributeType.INT, i: typed.int };
  if ('ints' in typed) return { name, type: AttributeType.INTS, ints: [...typed.ints] };
  return { name, type: AttributeType.TENSOR, t: tensor(typed.tensor) };
}

/** Serialises a single-graph ONNX model. The result loads in onnxruntime (`InferenceSession.create(bytes)`). */
export function onnxModel(spec: OnnxModelSpec): Uint8Array {
  const node = spec.nodes.map(
    (n, i): onnxProto.onnx.INodeProto => ({
      name: n.name ?? `${n.op}_${i}`,
      opType: n.op,
      domain: n.domain ?? '',
      input: [...n.inputs],
      output: [...n.outputs],
      attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
    }),
  );
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'elastic-serving',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.name ?? 'graph',
      node,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: (spec.initializers ?? []).map(tensor),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
