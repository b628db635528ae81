import { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { OrtType } from './datatypes.ts';
import { ModelLoadError } from './errors.ts';
import { OnnxModel } from './onnx-model.ts';
import { fixedShapeModel, identityModel, irisLikeModel } from './test-support/onnx-builder.ts';

describe('OnnxModel', () => {
  it('reads v2 metadata from the session: datatypes, -1 for dynamic dims', async () => {
    const iris = await OnnxModel.load(irisLikeModel());
    expect(iris.inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape }))).toEqual([
      { name: 'input', datatype: 'FP32', shape: [-1, 4] },
    ]);
    expect(iris.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape }))).toEqual([
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      { name: 'label', datatype: 'INT64', shape: [-1] },
    ]);
    const fixed = await OnnxModel.load(fixedShapeModel());
    expect(fixed.inputs[0]!.shape).toEqual([1, 3]);
    await Promise.all([iris.retire(), fixed.retire()]);
  });

  it('maps every onnxruntime element type to its v2 datatype', async () => {
    const expected: Record<OrtType, string> = {
      bool: 'BOOL',
      uint8: 'UINT8',
      uint16: 'UINT16',
      uint32: 'UINT32',
      uint64: 'UINT64',
      int8: 'INT8',
      int16: 'INT16',
      int32: 'INT32',
      int64: 'INT64',
      float16: 'FP16',
      float32: 'FP32',
      float64: 'FP64',
      string: 'BYTES',
    };
    for (const [ort, v2] of Object.entries(expected)) {
      const m = await OnnxModel.load(identityModel(ort as OrtType));
      expect(m.inputs[0]!.datatype).toBe(v2);
      expect(m.outputs[0]!.datatype).toBe(v2);
      await m.retire();
    }
  });

  it('runs, counts runs, computes only the fetched outputs', async () => {
    const m = await OnnxModel.load(irisLikeModel());
    const input = new Tensor('float32', new Float32Array([5.1, 3.5, 1.4, 0.2, 6.5, 3, 5.8, 2.2]), [2, 4]);
    const all = await m.run({ input });
    expect(Array.from(all.label!.data as BigInt64Array)).toEqual([0n, 2n]);
    expect(all.probabilities!.dims).toEqual([2, 3]);
    const some = await m.run({ input }, ['label']);
    expect(Object.keys(some)).toEqual(['label']);
    expect(m.runs).toBe(2);
    await m.retire();
    await expect(m.run({ input })).rejects.toThrow(/unloaded/);
  });

  it('frees the session only after in-flight runs finish', async () => {
    const m = await OnnxModel.load(irisLikeModel());
    const input = new Tensor('float32', new Float32Array(4 * 1000).fill(1), [1000, 4]);
    const runs = Array.from({ length: 5 }, () => m.run({ input }));
    const retired = m.retire();
    const results = await Promise.all(runs);
    expect(results.every((r) => r.label!.dims[0] === 1000)).toBe(true);
    await retired;
  });

  it('rejects bytes that are not a model with a ModelLoadError', async () => {
    await expect(OnnxModel.load(new TextEncoder().encode('not a model'))).rejects.toThrow(ModelLoadError);
    await expect(OnnxModel.load(new Uint8Array())).rejects.toThrow(/onnxruntime could not load the model/);
  });
});
