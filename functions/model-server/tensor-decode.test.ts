import { describe, expect, it } from 'vitest';
import { datatypeByName, V2_DATATYPES } from './datatypes.ts';
import { InvalidInputError } from './errors.ts';
import type { TensorSpec } from './onnx-model.ts';
import { checkDatatype, checkShape, readShape, toTensor } from './tensor-decode.ts';

function spec(datatype: string, shape: number[], rankKnown = true): TensorSpec {
  const info = datatypeByName(datatype)!;
  return { name: 'x', datatype: info.v2, info, shape, rankKnown, shapeText: `[${shape.join(',')}]` };
}

describe('tensor decoding', () => {
  it('fills every datatype from flat and nested data', () => {
    const cases: Record<string, unknown[]> = {
      BOOL: [true, false, 1, 0],
      UINT8: [0, 255, 1, 2],
      UINT16: [0, 65535, 1, 2],
      UINT32: [0, 4294967295, 1, 2],
      UINT64: [0, '18446744073709551615', 1, 2],
      INT8: [-128, 127, 0, 1],
      INT16: [-32768, 32767, 0, 1],
      INT32: [-2147483648, 2147483647, 0, 1],
      INT64: ['-9223372036854775808', '9223372036854775807', 9007199254740991, -1],
      FP16: [1.5, -2, 0, 65504],
      FP32: [0.5, -1.25, 3, 1e10],
      FP64: [0.1, -1e300, 3, 5e-324],
      BYTES: ['a', 'héllo', '', 'x y'],
    };
    expect(Object.keys(cases).sort()).toEqual([...V2_DATATYPES].sort());
    for (const [dt, values] of Object.entries(cases)) {
      const s = spec(dt, [-1, 2]);
      const flat = toTensor('m', s, [2, 2], { json: values });
      const nested = toTensor('m', s, [2, 2], { json: [values.slice(0, 2), values.slice(2)] });
      expect(flat.dims).toEqual([2, 2]);
      expect(flat.type).toBe(s.info.ort);
      expect(Array.from(nested.data as ArrayLike<unknown>)).toEqual(Array.from(flat.data as ArrayLike<unknown>));
    }
    expect(
      Array.from(toTensor('m', spec('INT64', [-1]), [1], { json: ['-9223372036854775808'] }).data as BigInt64Array),
    ).toEqual([-9223372036854775808n]);
    expect(Array.from(toTensor('m', spec('BOOL', [-1]), [2], { json: [true, false] }).data as Uint8Array)).toEqual([
      1, 0,
    ]);
    expect(Array.from(toTensor('m', spec('FP16', [-1]), [1], { json: [1] }).data as Uint16Array)).toEqual([0x3c00]);
  });

  it('rejects values that do not fit the datatype', () => {
    const bad: [string, unknown][] = [
      ['FP32', 'abc'],
      ['FP32', null],
      ['INT8', 128],
      ['INT8', 1.5],
      ['UINT8', -1],
      ['UINT32', 4294967296],
      ['UINT64', -1],
      ['UINT64', '18446744073709551616'],
      ['INT64', '12x'],
      ['INT64', 1.5],
      ['BOOL', 'true'],
      ['BOOL', 2],
      ['BYTES', 1],
    ];
    for (const [dt, v] of bad) {
      expect(() => toTensor('m', spec(dt, [-1]), [1], { json: [v] }), `${dt} ${String(v)}`).toThrow(InvalidInputError);
    }
    expect(() => toTensor('m', spec('INT8', [-1]), [1], { json: [300] })).toThrow(
      /invalid value at position 0 of input 'x' for model 'm': 300 is not an integer in \[-128, 127\]/,
    );
  });

  it('checks the element count against the shape', () => {
    const s = spec('FP32', [-1, 2]);
    expect(() => toTensor('m', s, [2, 2], { json: [1, 2, 3] })).toThrow(/shape needs 4, got 3/);
    expect(() => toTensor('m', s, [1, 2], { json: [1, 2, 3] })).toThrow(/shape needs 2, got 3/);
    expect(() => toTensor('m', s, [1, 2], { json: 'nope' })).toThrow(/must be a list/);
  });

  it('checks rank, fixed dimensions and datatype like KServe/Triton', () => {
    const s = spec('FP32', [-1, 4]);
    expect(() => checkShape('iris', s, [1, 4])).not.toThrow();
    expect(() => checkShape('iris', s, [7, 4])).not.toThrow();
    expect(() => checkShape('iris', s, [1, 3])).toThrow(
      "unexpected shape for input 'x' for model 'iris'. Expected [-1,4], got [1,3]",
    );
    expect(() => checkShape('iris', s, [4])).toThrow(/Expected \[-1,4\], got \[4\]/);
    expect(() => checkShape('iris', spec('FP32', [], false), [1, 2, 3])).not.toThrow();
    expect(() => readShape('iris', 'x', [1, -1])).toThrow(/non-negative integers/);
    expect(() => readShape('iris', 'x', 'nope')).toThrow(/must be a list/);
    expect(checkDatatype('iris', s, 'fp32').v2).toBe('FP32');
    expect(() => checkDatatype('iris', s, 'FP64')).toThrow(
      "inference input 'x' data-type is 'FP64', but model 'iris' expects 'FP32'",
    );
    expect(() => checkDatatype('iris', s, 'FLOAT')).toThrow(/invalid datatype "FLOAT"/);
  });

  it('reads the binary tensor extension', () => {
    const f = new Float32Array([1.5, -2]);
    const t = toTensor('m', spec('FP32', [-1]), [2], { binary: Buffer.from(f.buffer) });
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -2]);
    expect(() => toTensor('m', spec('FP32', [-1]), [3], { binary: Buffer.from(f.buffer) })).toThrow(
      /needs 12 bytes, got 8/,
    );
    const strings = Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('hi'), Buffer.from([0, 0, 0, 0])]);
    const b = toTensor('m', spec('BYTES', [-1]), [2], { binary: strings });
    expect(b.data).toEqual(['hi', '']);
    expect(() => toTensor('m', spec('BYTES', [-1]), [3], { binary: strings })).toThrow(/ends after 2 of 3/);
  });
});
