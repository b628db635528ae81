import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { onnxElemType, onnxModel, type V2Datatype } from './onnx-writer.ts';

/** v2 datatype → the onnxruntime-node tensor type, the typed data fed in, and what comes back out. */
const CASES: { datatype: V2Datatype; ort: ort.Tensor.Type; data: ort.Tensor.DataType }[] = [
  { datatype: 'FP32', ort: 'float32', data: Float32Array.from([1.5, -2, 3.25, 0]) },
  { datatype: 'FP64', ort: 'float64', data: Float64Array.from([1e-300, -2.5, Math.PI, 1e300]) },
  { datatype: 'INT8', ort: 'int8', data: Int8Array.from([-128, -1, 0, 127]) },
  { datatype: 'INT16', ort: 'int16', data: Int16Array.from([-32768, -1, 7, 32767]) },
  { datatype: 'INT32', ort: 'int32', data: Int32Array.from([-(2 ** 31), -1, 9, 2 ** 31 - 1]) },
  { datatype: 'INT64', ort: 'int64', data: BigInt64Array.from([-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n]) },
  { datatype: 'UINT8', ort: 'uint8', data: Uint8Array.from([0, 1, 128, 255]) },
  { datatype: 'UINT16', ort: 'uint16', data: Uint16Array.from([0, 1, 40000, 65535]) },
  { datatype: 'UINT32', ort: 'uint32', data: Uint32Array.from([0, 1, 2 ** 31, 2 ** 32 - 1]) },
  { datatype: 'UINT64', ort: 'uint64', data: BigUint64Array.from([0n, 1n, 2n ** 63n, 2n ** 64n - 1n]) },
  { datatype: 'BOOL', ort: 'bool', data: Uint8Array.from([1, 0, 0, 1]) },
  { datatype: 'BYTES', ort: 'string', data: ['a', '', 'héllo', 'x y'] },
];

describe('onnxModel', () => {
  it.each(CASES)('writes an Identity graph of $datatype that onnxruntime loads and runs', async (c) => {
    const bytes = onnxModel({
      inputs: [{ name: 'x', datatype: c.datatype, shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: c.datatype, shape: [null, 2] }],
      nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    });
    const session = await ort.InferenceSession.create(bytes);
    const [input] = session.inputMetadata;
    expect(input).toMatchObject({ name: 'x', isTensor: true, type: c.ort });
    expect(input?.isTensor && input.shape[1]).toBe(2);
    const out = await session.run({ x: new ort.Tensor(c.ort, c.data, [2, 2]) });
    expect(out.y?.type).toBe(c.ort);
    expect(out.y?.dims).toEqual([2, 2]);
    expect(Array.from(out.y?.data as ArrayLike<unknown>)).toEqual(Array.from(c.data as ArrayLike<unknown>));
    await session.release();
  });

  it('writes a Cast graph whose `to` attribute takes onnxElemType', async () => {
    const bytes = onnxModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'y', datatype: 'INT32', shape: [-1] }],
      nodes: [{ op: 'Cast', inputs: ['x'], outputs: ['y'], attributes: { to: onnxElemType('INT32') } }],
    });
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1.9, -2.9, 7]), [3]) });
    expect(Array.from(out.y?.data as Int32Array)).toEqual([1, -2, 7]);
    await session.release();
  });

  it('stores initializers of several types and names symbolic dims', async () => {
    const bytes = onnxModel({
      opset: 17,
      inputs: [
        { name: 'a', datatype: 'FP64', shape: ['n', 3] },
        { name: 'i', datatype: 'INT64', shape: ['n', 3] },
      ],
      outputs: [
        { name: 'sum', datatype: 'FP64', shape: ['n', 3] },
        { name: 'isum', datatype: 'INT64', shape: ['n', 3] },
        { name: 'scaled', datatype: 'FP32', shape: ['n', 3] },
      ],
      initializers: [
        { name: 'bias', datatype: 'FP64', dims: [3], values: [0.5, 1, -1] },
        { name: 'ibias', datatype: 'INT64', dims: [3], values: [10n, -(2n ** 40n), 3n] },
      ],
      nodes: [
        { op: 'Add', inputs: ['a', 'bias'], outputs: ['sum'] },
        { op: 'Add', inputs: ['i', 'ibias'], outputs: ['isum'] },
        // A whole-number float attribute must be marked explicitly to stay FLOAT.
        { op: 'Cast', inputs: ['sum'], outputs: ['sum32'], attributes: { to: onnxElemType('FP32') } },
        { op: 'Elu', inputs: ['sum32'], outputs: ['scaled'], attributes: { alpha: { float: 2 } } },
      ],
      metadata: { purpose: 'test' },
    });
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputMetadata[0]).toMatchObject({ shape: ['n', 3] });
    const out = await session.run({
      a: new ort.Tensor('float64', Float64Array.from([1, 2, 3]), [1, 3]),
      i: new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n]), [1, 3]),
    });
    expect(Array.from(out.sum?.data as Float64Array)).toEqual([1.5, 3, 2]);
    expect(Array.from(out.isum?.data as BigInt64Array)).toEqual([11n, 2n - 2n ** 40n, 6n]);
    expect(Array.from(out.scaled?.data as Float32Array)).toEqual([1.5, 3, 2]);
    const neg = await session.run({
      a: new ort.Tensor('float64', Float64Array.from([-1.5, 0, 0]), [1, 3]),
      i: new ort.Tensor('int64', BigInt64Array.from([0n, 0n, 0n]), [1, 3]),
    });
    expect(Array.from(neg.scaled?.data as Float32Array)[0]).toBeCloseTo(2 * (Math.exp(-1) - 1), 6);
    await session.release();
  });

  it('writes a BYTES initializer (string constant) onnxruntime reads back', async () => {
    const bytes = onnxModel({
      inputs: [{ name: 'x', datatype: 'BYTES', shape: [2] }],
      outputs: [{ name: 'y', datatype: 'BYTES', shape: [4] }],
      initializers: [{ name: 'tail', datatype: 'BYTES', dims: [2], values: ['ünï', 'end'] }],
      nodes: [{ op: 'Concat', inputs: ['x', 'tail'], outputs: ['y'], attributes: { axis: 0 } }],
    });
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('string', ['p', 'q'], [2]) });
    expect(out.y?.data).toEqual(['p', 'q', 'ünï', 'end']);
    await session.release();
  });

  it('rejects an initializer whose values do not fill its dims', () => {
    expect(() =>
      onnxModel({
        inputs: [],
        outputs: [{ name: 'c', datatype: 'FP32', shape: [2] }],
        initializers: [{ name: 'c', datatype: 'FP32', dims: [2], values: [1, 2, 3] }],
        nodes: [],
      }),
    ).toThrow(/hold 2 values, got 3/);
  });

  it('produces a model onnxruntime rejects when the graph is wrong, so the writer is really checked', async () => {
    const bytes = onnxModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
      nodes: [{ op: 'NoSuchOperator', inputs: ['x'], outputs: ['y'] }],
    });
    await expect(ort.InferenceSession.create(bytes)).rejects.toThrow(/NoSuchOperator/);
  });
});
