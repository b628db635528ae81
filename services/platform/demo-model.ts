import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildIrisModel } from '../../functions/examples/iris/build-iris-model.ts';

/** Where the demo's StorageSource watches (deploy/local/inference.yaml), under the working directory. */
export const DEMO_BUCKET = 'bucket';

/**
 * Builds the example iris model (trained at start from a dataset in an npm package, never downloaded) and drops it
 * into the demo bucket as `models/iris/model.onnx`, like a user uploading it; the storage event does the rest.
 * An existing file is left alone, so a user's own iris model is never overwritten.
 */
export async function placeDemoModel(cwd: string, log: (line: string) => void): Promise<string | undefined> {
  const target = join(cwd, DEMO_BUCKET, 'models', 'iris', 'model.onnx');
  if (existsSync(target)) return undefined;
  const started = Date.now();
  const { model, accuracy } = await buildIrisModel();
  await mkdir(join(target, '..'), { recursive: true });
  // Written beside and renamed in: the watcher never sees half a file.
  await writeFile(`${target}.tmp`, model);
  await rename(`${target}.tmp`, target);
  log(
    `demo model: iris MLP trained in ${Date.now() - started} ms (accuracy ${accuracy.toFixed(3)}, ${model.length} bytes) → ./${relative(cwd, target)}`,
  );
  return target;
}
