import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelNotFoundError, ModelNotReadyError } from './errors.ts';
import { ModelRepository } from './repository.ts';
import { fetchModel, type ModelFetcher } from './storage.ts';
import { gate, type ModelFiles, modelFiles } from './test-support/fixtures.ts';
import { addSubModel, identityModel, irisLikeModel } from './test-support/onnx-builder.ts';

let files: ModelFiles;
let irisUri: string;
let addUri: string;
let brokenUri: string;

beforeAll(async () => {
  files = await modelFiles();
  irisUri = await files.write('iris/model.onnx', irisLikeModel());
  addUri = await files.write('add.onnx', addSubModel());
  brokenUri = await files.write('broken/model.onnx', 'this is not an onnx model');
});
afterAll(() => files.cleanup());

const input = () => new Tensor('float32', new Float32Array([5.1, 3.5, 1.4, 0.2]), [1, 4]);

describe('ModelRepository', () => {
  it('loads several models, indexes them, unloads one without touching the others', async () => {
    const repo = new ModelRepository();
    await Promise.all([repo.load('iris', { storageUri: irisUri }), repo.load('add', { storageUri: addUri })]);
    expect(repo.index()).toEqual([
      { name: 'add', version: '1', state: 'READY', reason: '' },
      { name: 'iris', version: '1', state: 'READY', reason: '' },
    ]);
    await repo.unload('add');
    expect(repo.get('add')).toBeUndefined();
    expect(repo.status('add')).toBeUndefined();
    const out = await repo.get('iris')!.infer({ input: input() });
    expect(Array.from(out.label!.data as BigInt64Array)).toEqual([0n]);
    await expect(repo.unload('add')).rejects.toThrow(ModelNotFoundError);
    await repo.close();
    expect(repo.names()).toEqual([]);
  });

  it('marks a broken model UNAVAILABLE with the reason, and the others keep serving', async () => {
    const repo = new ModelRepository();
    await repo.load('iris', { storageUri: irisUri });
    await expect(repo.load('broken', { storageUri: brokenUri })).rejects.toThrow(ModelNotReadyError);
    const broken = repo.index().find((r) => r.name === 'broken')!;
    expect(broken.state).toBe('UNAVAILABLE');
    expect(broken.reason).toMatch(/onnxruntime could not load the model/);
    await expect(repo.load('missing', { storageUri: files.uri('nope.onnx') })).rejects.toThrow(/cannot read/);
    await expect(repo.load('sk', { storageUri: irisUri, framework: 'sklearn' })).rejects.toThrow(/ONNX models only/);
    expect(repo.status('sk')!.state).toBe('UNAVAILABLE');
    await repo.get('iris')!.infer({ input: input() });
    await repo.close();
  });

  it('is idempotent: the same spec joins the load in progress or resolves at once', async () => {
    let fetches = 0;
    const counting: ModelFetcher = (uri, o) => {
      fetches++;
      return fetchModel(uri, o);
    };
    const repo = new ModelRepository({ fetch: counting });
    const [a, b] = await Promise.all([
      repo.load('iris', { storageUri: irisUri }),
      repo.load('iris', { storageUri: irisUri }),
    ]);
    expect(a).toBe(b);
    expect(await repo.load('iris', { storageUri: irisUri })).toBe(a);
    expect(fetches).toBe(1);
    await repo.close();
  });

  it('swaps a reload atomically: the old version serves until the new one is ready', async () => {
    const hold = gate();
    const slow: ModelFetcher = async (uri, o) => {
      if (uri === addUri) await hold.promise;
      return fetchModel(uri, o);
    };
    const repo = new ModelRepository({ fetch: slow });
    const old = await repo.load('m', { storageUri: irisUri });
    const reloading = repo.load('m', { storageUri: addUri });
    await new Promise((r) => setTimeout(r, 20));
    expect(repo.get('m')).toBe(old);
    expect(repo.status('m')!.state).toBe('READY');
    await old.infer({ input: input() });
    hold.open();
    const fresh = await reloading;
    expect(repo.get('m')).toBe(fresh);
    expect(fresh.model.inputs.map((s) => s.name)).toEqual(['a', 'b']);
    await expect(old.infer({ input: input() })).rejects.toThrow(/unloaded/);
    await repo.close();
  });

  it('keeps the old version serving when a reload fails, and says so', async () => {
    const repo = new ModelRepository();
    const old = await repo.load('m', { storageUri: irisUri });
    await expect(repo.load('m', { storageUri: brokenUri })).rejects.toThrow(ModelNotReadyError);
    expect(repo.get('m')).toBe(old);
    const row = repo.index()[0]!;
    expect(row.state).toBe('READY');
    expect(row.reason).toMatch(/failed: .*still serving .*iris\/model.onnx/);
    await repo.close();
  });

  it('lets a newer load supersede one in progress; callers of the old one get the newer result', async () => {
    const hold = gate();
    const slow: ModelFetcher = async (uri, o) => {
      if (uri === irisUri) await hold.promise;
      return fetchModel(uri, o);
    };
    const repo = new ModelRepository({ fetch: slow });
    const first = repo.load('m', { storageUri: irisUri });
    expect(repo.status('m')!.state).toBe('LOADING');
    const second = repo.load('m', { storageUri: addUri });
    const served = await second;
    hold.open();
    expect(await first).toBe(served);
    expect(repo.get('m')!.spec.storageUri).toBe(addUri);
    await repo.close();
  });

  it('unloading during a load discards the load', async () => {
    const hold = gate();
    const slow: ModelFetcher = async (uri, o) => {
      await hold.promise;
      return fetchModel(uri, o);
    };
    const repo = new ModelRepository({ fetch: slow });
    const loading = repo.load('m', { storageUri: irisUri });
    await repo.unload('m');
    hold.open();
    await expect(loading).rejects.toThrow(/unloaded while loading/);
    expect(repo.names()).toEqual([]);
  });

  it('turns batching on per model', async () => {
    const repo = new ModelRepository();
    const plain = await repo.load('plain', { storageUri: addUri });
    const batched = await repo.load('batched', { storageUri: addUri, batching: { maxBatchSize: 8, maxLatencyMs: 5 } });
    expect(plain.batcher).toBeUndefined();
    expect(batched.batcher?.maxBatchSize).toBe(8);
    const feeds = () => ({
      a: new Tensor('float32', new Float32Array([1, 2]), [1, 2]),
      b: new Tensor('float32', new Float32Array([3, 4]), [1, 2]),
    });
    await Promise.all(Array.from({ length: 6 }, () => batched.infer(feeds())));
    await Promise.all(Array.from({ length: 6 }, () => plain.infer(feeds())));
    expect(batched.model.runs).toBeLessThan(6);
    expect(plain.model.runs).toBe(6);
    // A changed batching setting is a different spec: reloaded.
    const rebatched = await repo.load('batched', { storageUri: addUri, batching: { maxBatchSize: 2 } });
    expect(rebatched).not.toBe(batched);
    expect(rebatched.batcher?.maxBatchSize).toBe(2);
    const fixed = await repo.load('bools', {
      storageUri: await files.write('bools.onnx', identityModel('bool', [1, 2])),
      batching: {},
    });
    expect(fixed.batcher).toBeUndefined();
    expect(fixed.batchingOff).toMatch(/variable first dimension/);
    await repo.close();
  });
});
