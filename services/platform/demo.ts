import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifests } from '../controller/resources/index.ts';

/** Every resource in the YAML/JSON files of `dir` (sorted by file name), for applying at start. */
export async function loadDemo(dir: string): Promise<unknown[]> {
  const files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  const docs: unknown[] = [];
  for (const file of files) docs.push(...parseManifests(await readFile(join(dir, file), 'utf8')));
  return docs;
}
