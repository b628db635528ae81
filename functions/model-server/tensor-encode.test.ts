import { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { toHalfBits } from './fp16.ts';
import { nestedJson, outputBytes, outputJson } from './tensor-encode.ts';

describe('tensor encoding', () => {
  it('writes every element type as JSON, int64 exactly and non-finite floats as null', () => {
    const cases: [Tensor, string][] = [
      [new Tensor('float32', new Float32Array([0.5, Number.NaN]), [2]), '[0.5,null]'],
      [new Tensor('float64', new Float64Array([0.1, Number.POSITIVE_INFINITY]), [2]), '[0.1,null]'],
      [new Tensor('int8', new Int8Array([-128, 127]), [2]), '[-128,127]'],
      [new Tensor('uint32', new Uint32Array([4294967295, 0]), [2]), '[4294967295,0]'],
      [new Tensor('int64', new BigInt64Array([-9223372036854775808n, 5n]), [2]), '[-9223372036854775808,5]'],
      [new Tensor('uint64', new BigUint64Array([18446744073709551615n, 0n]), [2]), '[18446744073709551615,0]'],
      [new Tensor('bool', new Uint8Array([1, 0]), [2]), '[true,false]'],
      [new Tensor('float16', new Uint16Array([toHalfBits(1.5), 0x7c00]), [2]), '[1.5,null]'],
      [new Tensor('string', ['a"b', 'é'], [2]), '["a\\"b","é"]'],
    ];
    for (const [t, data] of cases) {
      const text = outputJson('y', t);
      expect(text.endsWith(`,"data":${data}}`), text).toBe(true);
      expect(JSON.parse(text).shape).toEqual([2]);
    }
  });

  it('nests along the shape for v1 predictions', () => {
    const t = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(JSON.parse(nestedJson(t))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(JSON.parse(nestedJson(new Tensor('int64', new BigInt64Array([2n, 0n]), [2])))).toEqual([2, 0]);
    expect(JSON.parse(nestedJson(new Tensor('float32', new Float32Array(8), [2, 2, 2])))).toEqual([
      [
        [0, 0],
        [0, 0],
      ],
      [
        [0, 0],
        [0, 0],
      ],
    ]);
  });

  it('writes binary data for the binary tensor extension', () => {
    expect(outputBytes(new Tensor('float32', new Float32Array([1.5]), [1]))).toEqual(
      Buffer.from(new Float32Array([1.5]).buffer),
    );
    expect(outputBytes(new Tensor('string', ['hi'], [1]))).toEqual(Buffer.from([2, 0, 0, 0, 0x68, 0x69]));
  });
});
