/**
 * Tiny ONNX models for tests, written with onnx-proto at test time (nothing downloaded). Until
 * functions/examples/iris lands, this also provides an iris-shaped MLP (`input` FP32 [-1,4] → `probabilities`
 * FP32 [-1,3], `label` INT64 [-1]).
 */
import onnxProto from 'onnx-proto';
import type { OrtType } from '../datatypes.ts';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

export const ELEM: Record<OrtType, number> = {
  float32: T.FLOAT,
  float64: T.DOUBLE,
  int8: T.INT8,
  int16: T.INT16,
  int32: T.INT32,
  int64: T.INT64,
  uint8: T.UINT8,
  uint16: T.UINT16,
  uint32: T.UINT32,
  uint64: T.UINT64,
  bool: T.BOOL,
  string: T.STRING,
  float16: T.FLOAT16,
};

export interface ValueDecl {
  name: string;
  type: OrtType;
  /** Numbers are fixed dims, strings symbolic (dynamic) ones. */
  shape: (number | string)[];
}

export interface NodeDecl {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, number | number[]>;
}

export interface InitializerDecl {
  name: string;
  dims: number[];
  floats: number[];
}

function valueInfo(v: ValueDecl) {
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.type],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function attribute(name: string, value: number | number[]) {
  return Array.isArray(value)
    ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: value })
    : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
}

export function buildModel(spec: {
  inputs: ValueDecl[];
  outputs: ValueDecl[];
  nodes: NodeDecl[];
  initializers?: InitializerDecl[];
}): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: 'test',
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    node: spec.nodes.map((n, i) =>
      onnx.NodeProto.create({
        name: `n${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      }),
    ),
    initializer: (spec.initializers ?? []).map((t) =>
      onnx.TensorProto.create({ name: t.name, dims: t.dims, dataType: T.FLOAT, floatData: t.floats }),
    ),
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'elastic-serving-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** `y = x` for one datatype; `shape` defaults to a batch of rows of 2. */
export function identityModel(type: OrtType, shape: (number | string)[] = ['N', 2]): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', type, shape }],
    outputs: [{ name: 'y', type, shape }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

/** Two FP32 inputs `a`, `b` [-1,2] → `sum` and `diff`. */
export function addSubModel(): Uint8Array {
  const v = (name: string): ValueDecl => ({ name, type: 'float32', shape: ['N', 2] });
  return buildModel({
    inputs: [v('a'), v('b')],
    outputs: [v('sum'), v('diff')],
    nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
      { op: 'Sub', inputs: ['a', 'b'], outputs: ['diff'] },
    ],
  });
}

/**
 * An iris-shaped linear classifier (fixed weights, no training): `input` FP32 [-1,4] → `probabilities` FP32
 * [-1,3] (softmax) and `label` INT64 [-1] (argmax). Petal length decides: < 2.5 class 0, < 5 class 1, else 2.
 */
export function irisLikeModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'input', type: 'float32', shape: ['N', 4] }],
    outputs: [
      { name: 'probabilities', type: 'float32', shape: ['N', 3] },
      { name: 'label', type: 'int64', shape: ['N'] },
    ],
    initializers: [
      // Scores per class from petal length p (column 2): c0 = -4p + 10, c1 = 0 (+ bias), c2 = 4p - 20.
      { name: 'W', dims: [4, 3], floats: [0, 0, 0, 0, 0, 0, -4, 0, 4, 0, 0, 0] },
      { name: 'B', dims: [3], floats: [10, 0, -20] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['input', 'W'], outputs: ['mm'] },
      { op: 'Add', inputs: ['mm', 'B'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: 1 } },
      { op: 'ArgMax', inputs: ['logits'], outputs: ['label'], attributes: { axis: 1, keepdims: 0 } },
    ],
  });
}

/** Fixed shape [1,3] FP32 → doubled (no free batch dimension: cannot be batched). */
export function fixedShapeModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', type: 'float32', shape: [1, 3] }],
    outputs: [{ name: 'y', type: 'float32', shape: [1, 3] }],
    nodes: [{ op: 'Add', inputs: ['x', 'x'], outputs: ['y'] }],
  });
}
