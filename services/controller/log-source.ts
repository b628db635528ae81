/**
 * Where the log endpoint finds a Function's replica logs. The controller knows nothing about how replicas run:
 * the platform hands it a `LogSource` (for the local runtime, a directory of `<replica>.log` files).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** One replica's captured stdout and stderr, appended across its runs. */
export interface LogFile {
  /** Replica id, as `--replica` names it and as lines are prefixed with. */
  replica: string;
  /** Absolute path of a file that only grows (a smaller size means it was replaced; it is then read again). */
  path: string;
}

export interface LogSource {
  /**
   * The log files of a Function's replicas, current ones and those of earlier runs, oldest first (the most
   * recently written last). Empty when it has had none yet; asked again while a client follows, so replicas that
   * start later are picked up.
   */
  files(namespace: string, name: string): LogFile[] | Promise<LogFile[]>;
}

const LOG_SUFFIX = '.log';

/**
 * A `LogSource` over one directory per Function holding `<replica>.log` files (the local runtime's layout).
 * Files are ordered by last write, ties by replica id in numeric order (`echo-2` before `echo-10`).
 * @param dirOf the directory of a Function's logs; it need not exist yet.
 */
export function directoryLogSource(dirOf: (namespace: string, name: string) => string): LogSource {
  return {
    async files(namespace, name) {
      const dir = dirOf(namespace, name);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const found = await Promise.all(
        names
          .filter((n) => n.endsWith(LOG_SUFFIX))
          .map(async (n) => {
            const path = join(dir, n);
            // A file removed between readdir and stat is simply not listed.
            const st = await stat(path).catch(() => undefined);
            return st?.isFile() ? { replica: n.slice(0, -LOG_SUFFIX.length), path, mtimeMs: st.mtimeMs } : undefined;
          }),
      );
      return found
        .filter((f) => f !== undefined)
        .sort((a, b) => a.mtimeMs - b.mtimeMs || a.replica.localeCompare(b.replica, 'en', { numeric: true }))
        .map(({ replica, path }) => ({ replica, path }));
    },
  };
}
