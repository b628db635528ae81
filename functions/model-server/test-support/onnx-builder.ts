/**
 * Tiny ONNX models for the model server's tests, written at test time (nothing downloaded) with the project's ONNX
 * writer (functions/examples/iris/onnx-writer.ts).
 */
import { onnxModel, type ValueInfo } from '../../examples/iris/onnx-writer.ts';
import { datatypeOfOrt, type OrtType } from '../datatypes.ts';

/** `y = x` for one datatype; `shape` defaults to a batch of rows of 2. */
export function identityModel(type: OrtType, shape: (number | string)[] = ['N', 2]): Uint8Array {
  const datatype = datatypeOfOrt(type)!.v2;
  return onnxModel({
    inputs: [{ name: 'x', datatype, shape }],
    outputs: [{ name: 'y', datatype, shape }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

/** Two FP32 inputs `a`, `b` [-1,2] → `sum` and `diff`. */
export function addSubModel(): Uint8Array {
  const v = (name: string): ValueInfo => ({ name, datatype: 'FP32', shape: ['N', 2] });
  return onnxModel({
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
  return onnxModel({
    inputs: [{ name: 'input', datatype: 'FP32', shape: ['N', 4] }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: ['N', 3] },
      { name: 'label', datatype: 'INT64', shape: ['N'] },
    ],
    initializers: [
      // Scores per class from petal length p (column 2): c0 = -4p + 10, c1 = 0 (+ bias), c2 = 4p - 20.
      { name: 'W', datatype: 'FP32', dims: [4, 3], values: [0, 0, 0, 0, 0, 0, -4, 0, 4, 0, 0, 0] },
      { name: 'B', datatype: 'FP32', dims: [3], values: [10, 0, -20] },
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
  return onnxModel({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 3] }],
    nodes: [{ op: 'Add', inputs: ['x', 'x'], outputs: ['y'] }],
  });
}
