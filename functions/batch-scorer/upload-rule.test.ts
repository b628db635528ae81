import { describe, expect, it } from 'vitest';
import { STORAGE_CREATED, uploadAction } from './upload-rule.ts';

describe('uploadAction', () => {
  it('turns batches/<model>/<file>.jsonl|csv in a directory bucket into a BatchJob writing results/<model>/', () => {
    const a = uploadAction(STORAGE_CREATED, 'batches/iris/2024/Rows Jan.csv', {
      uri: 'file:///data/bucket/batches/iris/2024/Rows%20Jan.csv',
      etag: '"abc"',
    });
    expect(a).toMatchObject({
      action: 'submit',
      model: 'iris',
      input: '/data/bucket/batches/iris/2024/Rows Jan.csv',
      output: '/data/bucket/results/iris/Rows Jan.jsonl',
    });
    expect((a as { name: string }).name).toMatch(/^iris-rows-jan-[0-9a-f]{8}$/);
    const again = uploadAction(STORAGE_CREATED, 'batches/iris/2024/Rows Jan.csv', {
      uri: 'file:///data/bucket/batches/iris/2024/Rows%20Jan.csv',
      etag: '"def"',
    });
    expect((again as { name: string }).name).not.toBe((a as { name: string }).name);
  });

  it('ignores other events and keys, and refuses what it cannot run', () => {
    expect(uploadAction('dev.elasticserving.storage.object.deleted', 'batches/iris/a.jsonl', {}).action).toBe('ignore');
    expect(uploadAction(STORAGE_CREATED, 'models/iris/model.onnx', {}).action).toBe('ignore');
    expect(uploadAction(STORAGE_CREATED, 'batches/a.jsonl', {}).action).toBe('ignore');
    expect(uploadAction(STORAGE_CREATED, 'batches/iris/a.parquet', {}).action).toBe('ignore');
    expect(
      uploadAction(STORAGE_CREATED, 'batches/Iris_X/a.jsonl', { uri: 'file:///b/batches/Iris_X/a.jsonl' }),
    ).toMatchObject({
      action: 'reject',
    });
    expect(uploadAction(STORAGE_CREATED, 'batches/iris/a.jsonl', { uri: 's3://b/batches/iris/a.jsonl' })).toMatchObject(
      {
        action: 'reject',
        reason: expect.stringMatching(/local file/),
      },
    );
  });
});
