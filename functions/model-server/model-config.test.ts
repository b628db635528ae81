import { describe, expect, it } from 'vitest';
import { ModelConfigError, parseModelConfig } from './model-config.ts';

describe('parseModelConfig', () => {
  it("reads KServe's models.json shape, with optional framework, memory and batching", () => {
    const specs = parseModelConfig(
      JSON.stringify([
        { modelName: 'iris', modelSpec: { storageUri: 'file:///m/iris.onnx', framework: 'onnx', memory: '64Mi' } },
        {
          modelName: 'b',
          modelSpec: { storageUri: 's3://bucket/b/', batching: { maxBatchSize: 16, maxLatencyMs: 2 } },
        },
      ]),
    );
    expect([...specs.entries()]).toEqual([
      ['iris', { storageUri: 'file:///m/iris.onnx', framework: 'onnx', memory: '64Mi' }],
      ['b', { storageUri: 's3://bucket/b/', batching: { maxBatchSize: 16, maxLatencyMs: 2 } }],
    ]);
    expect(parseModelConfig('[]').size).toBe(0);
  });

  it('names the bad entry in its errors', () => {
    const bad: [string, RegExp][] = [
      ['[{"modelName": "a", "modelSpec": {"storageUri": "x"}', /not valid JSON/],
      ['{}', /must be a list/],
      ['[1]', /\[0\] must be an object/],
      ['[{"modelSpec": {"storageUri": "x"}}]', /\[0\]\.modelName must be a non-empty string/],
      ['[{"modelName": "a/b", "modelSpec": {"storageUri": "x"}}]', /without '\/'/],
      ['[{"modelName": "a"}]', /\[0\]\.modelSpec must be an object/],
      ['[{"modelName": "a", "modelSpec": {}}]', /\[0\]\.modelSpec\.storageUri must be a non-empty string/],
      [
        '[{"modelName": "a", "modelSpec": {"storageUri": "x", "memory": 64}}]',
        /\[0\]\.modelSpec\.memory must be a string/,
      ],
      [
        '[{"modelName": "a", "modelSpec": {"storageUri": "x", "batching": {"maxBatchSize": 0}}}]',
        /batching\.maxBatchSize must be a positive integer/,
      ],
      [
        '[{"modelName": "a", "modelSpec": {"storageUri": "x"}}, {"modelName": "a", "modelSpec": {"storageUri": "y"}}]',
        /\[1\]\.modelName 'a' is listed twice/,
      ],
    ];
    for (const [text, message] of bad) {
      expect(() => parseModelConfig(text), text).toThrow(ModelConfigError);
      expect(() => parseModelConfig(text), text).toThrow(message);
    }
  });
});
