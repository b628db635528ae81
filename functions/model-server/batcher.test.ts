import { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Batcher, unbatchableReason } from './batcher.ts';
import { OnnxModel } from './onnx-model.ts';
import { ModelRepository } from './repository.ts';
import { modelFiles } from './test-support/fixtures.ts';
import { addSubModel, fixedShapeModel, identityModel, irisLikeModel } from './test-support/onnx-builder.ts';

const rows = (n: number, v: number) => new Tensor('float32', new Float32Array(n * 2).fill(v), [n, 2]);

describe('Batcher', () => {
  it('batches concurrent requests into fewer runs and splits the outputs back by row', async () => {
    const model = await OnnxModel.load(addSubModel());
    const batcher = new Batcher(model, { maxBatchSize: 64, maxLatencyMs: 50 });
    const n = 20;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => batcher.submit({ a: rows(1 + (i % 3), i), b: rows(1 + (i % 3), 1) })),
    );
    expect(model.runs).toBeLessThan(n);
    expect(batcher.batches).toBeGreaterThan(0);
    results.forEach((r, i) => {
      expect(r.sum!.dims).toEqual([1 + (i % 3), 2]);
      expect(Array.from(r.sum!.data as Float32Array).every((v) => v === i + 1)).toBe(true);
      expect(Array.from(r.diff!.data as Float32Array).every((v) => v === i - 1)).toBe(true);
    });
    await model.retire();
  });

  it('does not make a lone request wait for maxLatency', async () => {
    const model = await OnnxModel.load(addSubModel());
    const batcher = new Batcher(model, { maxBatchSize: 64, maxLatencyMs: 5000 });
    const t0 = performance.now();
    await batcher.submit({ a: rows(1, 1), b: rows(1, 1) });
    expect(performance.now() - t0).toBeLessThan(1000);
    await model.retire();
  });

  it('respects maxBatchSize and runs oversized requests alone', async () => {
    const model = await OnnxModel.load(addSubModel());
    const batcher = new Batcher(model, { maxBatchSize: 4, maxLatencyMs: 50 });
    const results = await Promise.all(
      Array.from({ length: 12 }, () => batcher.submit({ a: rows(1, 1), b: rows(1, 2) })),
    );
    expect(results.every((r) => r.sum!.dims[0] === 1)).toBe(true);
    expect(model.runs).toBeGreaterThanOrEqual(3);
    const big = await batcher.submit({ a: rows(9, 1), b: rows(9, 1) });
    expect(big.sum!.dims).toEqual([9, 2]);
    await model.retire();
  });

  it('runs requests whose non-batch dimensions differ alone, and keeps BYTES rows apart correctly', async () => {
    const model = await OnnxModel.load(identityModel('float32', ['N', 'M']));
    const batcher = new Batcher(model, { maxBatchSize: 64, maxLatencyMs: 20 });
    const wide = new Tensor('float32', new Float32Array([1, 2, 3]), [1, 3]);
    const narrow = new Tensor('float32', new Float32Array([4, 5]), [1, 2]);
    const [a, b, c] = await Promise.all([
      batcher.submit({ x: wide }),
      batcher.submit({ x: narrow }),
      batcher.submit({ x: wide }),
    ]);
    expect(Array.from(a!.y!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(b!.y!.data as Float32Array)).toEqual([4, 5]);
    expect(Array.from(c!.y!.data as Float32Array)).toEqual([1, 2, 3]);
    await model.retire();

    const strings = await OnnxModel.load(identityModel('string'));
    const sb = new Batcher(strings, { maxBatchSize: 64, maxLatencyMs: 20 });
    const out = await Promise.all(
      ['a', 'b', 'c'].map((s) => sb.submit({ x: new Tensor('string', [s, `${s}!`], [1, 2]) })),
    );
    expect(out.map((o) => o.y!.data)).toEqual([
      ['a', 'a!'],
      ['b', 'b!'],
      ['c', 'c!'],
    ]);
    expect(strings.runs).toBeLessThan(3);
    await strings.retire();
  });

  it('tells which models cannot be batched', async () => {
    const fixed = await OnnxModel.load(fixedShapeModel());
    expect(unbatchableReason(fixed)).toMatch(/'x' has shape \[1,3\]/);
    const iris = await OnnxModel.load(irisLikeModel());
    expect(unbatchableReason(iris)).toBeUndefined();
    await Promise.all([fixed.retire(), iris.retire()]);
  });
});

describe('Batcher.drain', () => {
  it('lets requests already queued finish before the model is freed (reload or unload)', async () => {
    const files = await modelFiles();
    const uri = await files.write('add.onnx', addSubModel());
    const repo = new ModelRepository();
    const served = await repo.load('m', { storageUri: uri, batching: { maxBatchSize: 64, maxLatencyMs: 1000 } });
    const inflight = Array.from({ length: 10 }, () => served.infer({ a: rows(1, 2), b: rows(1, 1) }));
    await repo.unload('m');
    const results = await Promise.all(inflight);
    expect(results.every((r) => (r.sum!.data as Float32Array)[0] === 3)).toBe(true);
    await files.cleanup();
  });
});
