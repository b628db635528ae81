import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * Names that are never objects: hidden files and the names uploaders and editors give files still being
 * written (`x.tmp`, `x.part`, `x~`, browser downloads). A writer that renames into place once done is therefore
 * announced exactly once, under its final name. Checked on every path segment, so a hidden directory's
 * contents are skipped too.
 */
const TEMP_SUFFIXES = ['.tmp', '.temp', '.part', '.partial', '.crdownload', '.download', '.swp', '~'];

export function isTemporaryName(segment: string): boolean {
  if (segment.startsWith('.')) return true;
  const lower = segment.toLowerCase();
  return TEMP_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

/** The object key of `path` under `root` (`/`-separated), or `undefined` when it is the root or outside it. */
export function keyOf(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..')) return undefined;
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/** Whether the watcher skips `path` (a temporary or hidden name anywhere below `root`). */
export function isIgnoredPath(root: string, path: string): boolean {
  const key = keyOf(root, path);
  return key?.split('/').some(isTemporaryName) ?? false;
}

/** MD5 of a file's content in hex: the ETag S3 gives a single-part upload of the same bytes. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Same size and modification time: nothing was written in between. */
export function sameStat(a: Pick<Stats, 'size' | 'mtimeMs'>, b: Pick<Stats, 'size' | 'mtimeMs'>): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs;
}
