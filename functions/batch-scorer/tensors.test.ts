import { describe, expect, it } from 'vitest';
import { type ModelMeta, RowError, rowTensors, scoredLines, stackInputs } from './tensors.ts';

const iris: ModelMeta = {
  name: 'iris',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    { name: 'label', datatype: 'INT64', shape: [-1] },
  ],
};

describe('rowTensors', () => {
  it('takes an array row, the input-named field, `features`, or every field but id in order', () => {
    expect(rowTensors([1, 2, 3, 4], iris)).toEqual([[1, 2, 3, 4]]);
    expect(
      rowTensors(
        {
          id: 'x',
          input: [
            [1, 2],
            [3, 4],
          ],
        },
        iris,
      ),
    ).toEqual([[1, 2, 3, 4]]);
    expect(rowTensors({ id: 'x', features: [1, 2, 3, 4], other: 9 }, iris)).toEqual([[1, 2, 3, 4]]);
    expect(rowTensors({ sl: 5.1, id: 3, sw: '3.5', pl: 1.4, pw: 0.2 }, iris)).toEqual([[5.1, 3.5, 1.4, 0.2]]);
  });

  it('fails a row whose values do not fit the input, with the reason', () => {
    expect(() => rowTensors([1, 2, 3], iris)).toThrow(/3 values for input input; model iris expects 4/);
    expect(() => rowTensors({ a: 1, b: 'x', c: 3, d: 4 }, iris)).toThrow(/"x" is not a number/);
    expect(() => rowTensors('text', iris)).toThrow(RowError);
    expect(() => rowTensors([1, null, 3, 4], iris)).toThrow(/null is not a number/);
    const ints: ModelMeta = { ...iris, inputs: [{ name: 'n', datatype: 'INT32', shape: [-1, 2] }] };
    expect(() => rowTensors([1, 2.5], ints)).toThrow(/not an integer/);
    expect(rowTensors([1, 2], ints)).toEqual([[1, 2]]);
  });

  it('gives each input of a multi-input model its own field', () => {
    const two: ModelMeta = {
      name: 'two',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [-1, 2] },
        { name: 'flag', datatype: 'BOOL', shape: [-1] },
      ],
      outputs: [],
    };
    expect(rowTensors({ a: [1, 2], flag: true }, two)).toEqual([[1, 2], [true]]);
    expect(() => rowTensors({ a: [1, 2] }, two)).toThrow(/no field "flag"/);
    expect(() => rowTensors([1, 2], two)).toThrow(/2 inputs/);
  });
});

describe('stackInputs and scoredLines', () => {
  it('stacks rows as [rows, features] and splits outputs back per row, keeping ids', () => {
    const rows = [
      { id: 'a', row: [1, 2, 3, 4] },
      { id: 7, row: [5, 6, 7, 8] },
    ];
    const inputs = stackInputs(
      iris,
      rows.map((r) => rowTensors(r.row, iris)),
    );
    expect(inputs).toEqual([{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8] }]);
    const lines = scoredLines(
      [
        { name: 'probabilities', shape: [2, 3], datatype: 'FP32', data: [0.1, 0.2, 0.7, 0.9, 0.05, 0.05] },
        { name: 'label', shape: [2], datatype: 'INT64', data: [2, 0] },
        {
          name: 'cube',
          shape: [2, 2, 2],
          datatype: 'FP32',
          data: [
            [
              [1, 2],
              [3, 4],
            ],
            [
              [5, 6],
              [7, 8],
            ],
          ],
        },
      ],
      rows,
    );
    const out = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toEqual([
      {
        id: 'a',
        probabilities: [0.1, 0.2, 0.7],
        label: 2,
        cube: [
          [1, 2],
          [3, 4],
        ],
      },
      {
        id: 7,
        probabilities: [0.9, 0.05, 0.05],
        label: 0,
        cube: [
          [5, 6],
          [7, 8],
        ],
      },
    ]);
    expect(Object.keys(out[0]!)[0]).toBe('id');
  });

  it('writes each row as JSON.stringify would: non-finite numbers as null, strings escaped, the row id first', () => {
    const rows = [
      { id: 'q"1', row: [] },
      { id: 2, row: [] },
    ];
    const lines = scoredLines(
      [
        { name: 'score', shape: [2, 2], datatype: 'FP64', data: [Number.NaN, -0, 1e21, Number.POSITIVE_INFINITY] },
        { name: 'id', shape: [2], datatype: 'INT64', data: [9, 9] },
        { name: 'flag', shape: [2], datatype: 'BOOL', data: [true, false] },
        { name: 'text', shape: [2, 1], datatype: 'BYTES', data: ['a\nb', 'é'] },
      ],
      rows,
    );
    expect(lines).toEqual([
      JSON.stringify({ id: 'q"1', score: [Number.NaN, -0], flag: true, text: ['a\nb'] }),
      JSON.stringify({ id: 2, score: [1e21, Number.POSITIVE_INFINITY], flag: false, text: ['é'] }),
    ]);
  });

  it('uses the row width where the model leaves it open, and rejects answers without a row per row', () => {
    const open: ModelMeta = { ...iris, inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1] }] };
    expect(stackInputs(open, [[[1, 2, 3]], [[4, 5, 6]]])[0]!.shape).toEqual([2, 3]);
    expect(() =>
      scoredLines(
        [{ name: 'label', shape: [1], datatype: 'INT64', data: [1] }],
        [
          { id: 0, row: [] },
          { id: 1, row: [] },
        ],
      ),
    ).toThrow(/shape \[1\]/);
  });
});
