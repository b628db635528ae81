import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Root of the elastic-serving package (where package.json and deploy/ live), wherever the CLI is run from. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let cachedVersion: string | undefined;

/** The package version from package.json (read once, lazily, so startup stays cheap). */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    cachedVersion = pkg.version ?? '0.0.0';
  }
  return cachedVersion;
}
