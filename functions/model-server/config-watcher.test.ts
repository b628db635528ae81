import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelConfigWatcher } from './config-watcher.ts';
import { ModelRepository } from './repository.ts';
import { type ModelFiles, modelFiles } from './test-support/fixtures.ts';
import { addSubModel, irisLikeModel } from './test-support/onnx-builder.ts';

let files: ModelFiles;
let irisUri: string;
let addUri: string;
let brokenUri: string;

beforeAll(async () => {
  files = await modelFiles();
  irisUri = await files.write('models/iris/model.onnx', irisLikeModel());
  addUri = await files.write('models/add/model.onnx', addSubModel());
  brokenUri = await files.write('models/broken/model.onnx', 'not onnx');
});
afterAll(() => files.cleanup());

let seq = 0;
/** Writes the config as the platform does: a temp file renamed over the real one. */
async function writeAtomically(path: string, models: Record<string, object>): Promise<void> {
  const tmp = `${path}.tmp-${seq++}`;
  const entries = Object.entries(models).map(([modelName, modelSpec]) => ({ modelName, modelSpec }));
  await writeFile(tmp, JSON.stringify(entries));
  await rename(tmp, path);
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function setup(name: string) {
  const path = join(files.dir, `${name}.json`);
  const repo = new ModelRepository();
  // Polling off: these tests must pass on fs.watch events alone.
  const watcher = new ModelConfigWatcher({ path, repository: repo, pollMs: 0, retryMs: 50 });
  return { path, repo, watcher };
}

describe('ModelConfigWatcher', () => {
  it('loads every listed model before start resolves; a broken one does not stop the rest', async () => {
    const { path, repo, watcher } = setup('initial');
    await writeAtomically(path, {
      iris: { storageUri: irisUri, framework: 'onnx' },
      add: { storageUri: addUri },
      broken: { storageUri: brokenUri },
    });
    await watcher.start();
    expect(repo.index().map((r) => [r.name, r.state])).toEqual([
      ['add', 'READY'],
      ['broken', 'UNAVAILABLE'],
      ['iris', 'READY'],
    ]);
    watcher.close();
    await repo.close();
  });

  it('reconciles on atomic renames: adds, reloads a changed storageUri, unloads removed models', async () => {
    const { path, repo, watcher } = setup('changes');
    await writeAtomically(path, { iris: { storageUri: irisUri } });
    await watcher.start();
    const first = repo.get('iris');
    expect(first).toBeDefined();

    await writeAtomically(path, { iris: { storageUri: irisUri }, add: { storageUri: addUri } });
    await until(() => repo.get('add') !== undefined);
    expect(repo.get('iris')).toBe(first); // unchanged entries are not reloaded

    await writeAtomically(path, { iris: { storageUri: addUri }, add: { storageUri: addUri } });
    await until(() => repo.get('iris')?.spec.storageUri === addUri);

    await writeAtomically(path, { add: { storageUri: addUri, batching: { maxBatchSize: 4 } } });
    await until(() => repo.get('iris') === undefined && repo.get('add')?.batcher !== undefined);
    expect(repo.names()).toEqual(['add']);
    watcher.close();
    await repo.close();
  });

  it('keeps the last good config through a partial write, then applies the completed file', async () => {
    const { path, repo, watcher } = setup('partial');
    await writeAtomically(path, { iris: { storageUri: irisUri } });
    await watcher.start();
    const full = JSON.stringify([
      { modelName: 'iris', modelSpec: { storageUri: irisUri } },
      { modelName: 'add', modelSpec: { storageUri: addUri } },
    ]);
    await writeFile(path, full.slice(0, 40)); // a writer that does not rename, caught mid-write
    await new Promise((r) => setTimeout(r, 150));
    expect(repo.names()).toEqual(['iris']);
    expect(watcher.specs.size).toBe(1);
    await writeFile(path, full);
    await until(() => repo.get('add') !== undefined);
    expect(repo.get('iris')).toBeDefined();
    watcher.close();
    await repo.close();
  });

  it('starts with no file (no models) and loads once the file appears; a deleted file keeps the models', async () => {
    const { path, repo, watcher } = setup('late');
    await watcher.start();
    expect(repo.names()).toEqual([]);
    await writeAtomically(path, { iris: { storageUri: irisUri } });
    await until(() => repo.get('iris') !== undefined);
    await rm(path);
    await new Promise((r) => setTimeout(r, 100));
    expect(repo.get('iris')).toBeDefined();
    watcher.close();
    await repo.close();
  });

  it('does not unload models it did not load, and notices changes by polling when events are missed', async () => {
    const path = join(files.dir, 'poll.json');
    const repo = new ModelRepository();
    await repo.load('manual', { storageUri: addUri });
    await writeAtomically(path, { iris: { storageUri: irisUri } });
    const watcher = new ModelConfigWatcher({ path, repository: repo, pollMs: 30, events: false });
    await watcher.start();
    await writeAtomically(path, {});
    await until(() => repo.get('iris') === undefined);
    expect(repo.names()).toEqual(['manual']);
    watcher.close();
    await repo.close();
  });

  it('fails to start on a config that does not parse or a missing directory', async () => {
    const { path, repo, watcher } = setup('bad');
    await writeFile(path, '{"not": "a list"}');
    await expect(watcher.start()).rejects.toThrow(/must be a list/);
    watcher.close();
    const missing = new ModelConfigWatcher({ path: join(files.dir, 'no/such/dir/m.json'), repository: repo });
    await expect(missing.start()).rejects.toThrow(/ENOENT/);
    missing.close();
  });
});
