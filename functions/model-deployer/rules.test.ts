import { describe, expect, it } from 'vitest';
import { modelAction, objectUri, STORAGE_CREATED, STORAGE_DELETED } from './rules.ts';

const file = { bucket: 'bucket', etag: 'abc', uri: 'file:///data/bucket/models/iris/model.onnx' };

describe('model deployer rules', () => {
  it('deploys models/<name>/…​.onnx as model <name>, with the object etag as its version', () => {
    expect(modelAction(STORAGE_CREATED, 'models/iris/model.onnx', file)).toEqual({
      action: 'deploy',
      model: 'iris',
      storageUri: 'file:///data/bucket/models/iris/model.onnx',
      version: 'abc',
    });
    expect(modelAction(STORAGE_CREATED, 'models/iris/v2/model.ONNX', file)).toMatchObject({ model: 'iris' });
    expect(modelAction(STORAGE_CREATED, 'models/flowers.onnx', file)).toMatchObject({ model: 'flowers' });
  });

  it('undeploys on delete and ignores what is not a model under the prefix', () => {
    expect(modelAction(STORAGE_DELETED, 'models/iris/model.onnx', file)).toMatchObject({ action: 'undeploy' });
    expect(modelAction(STORAGE_CREATED, 'batches/rows.jsonl', file).action).toBe('ignore');
    expect(modelAction(STORAGE_CREATED, 'models/iris/README.md', file).action).toBe('ignore');
    expect(modelAction('dev.other', 'models/iris/model.onnx', file).action).toBe('ignore');
    expect(modelAction(STORAGE_CREATED, undefined, file).action).toBe('ignore');
    expect(modelAction(STORAGE_CREATED, 'ml/iris/model.onnx', file, 'ml/')).toMatchObject({ model: 'iris' });
  });

  it('rejects a model name that cannot name a resource, saying why', () => {
    const r = modelAction(STORAGE_CREATED, 'models/Iris_V2/model.onnx', file);
    expect(r).toMatchObject({ action: 'reject', model: 'Iris_V2' });
    expect(r.action === 'reject' && r.reason).toContain('DNS label');
  });

  it('derives an s3:// URI from bucket and key when the event carries no uri', () => {
    expect(objectUri({ bucket: 'b', key: 'models/my model/m.onnx' })).toBe('s3://b/models/my model/m.onnx');
    expect(modelAction(STORAGE_CREATED, 'models/x/m.onnx', { bucket: 'b' })).toMatchObject({
      storageUri: 's3://b/models/x/m.onnx',
    });
    expect(modelAction(STORAGE_CREATED, 'models/x/m.onnx', {}).action).toBe('reject');
  });
});
