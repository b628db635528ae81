import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ModelLoadError } from './errors.ts';
import type { FetchedModel } from './storage.ts';
import { pickOnnx } from './storage-paths.ts';

/** `file:///abs/path/model.onnx`, or a directory holding the model. */
export async function fetchFile(uri: string): Promise<FetchedModel> {
  let path: string;
  try {
    path = fileURLToPath(uri);
  } catch (err) {
    throw new ModelLoadError(
      `invalid file URI ${JSON.stringify(uri)}: ${(err as Error).message} (use file:///absolute/path)`,
    );
  }
  try {
    if ((await stat(path)).isDirectory()) path = join(path, pickOnnx(await readdir(path), path));
    return { bytes: await readFile(path), from: pathToFileURL(path).href };
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
