/**
 * Builds a Function's handler into one plain ESM file at apply time, so replicas start with `node <file>.mjs` and
 * never load a TypeScript loader (DESIGN §5 "Function handlers").
 *
 * What is bundled: the handler, its local imports, the SDK (`elastic-serving/sdk` is aliased to this checkout's
 * functions/sdk, so a handler anywhere on disk finds it) and every pure-JS dependency, pino included; one file
 * parses faster than hundreds of small modules and does not depend on where the state directory lives.
 * What stays external: native addons and packages known to load files relative to themselves (onnxruntime-node,
 * sharp, …). They are imported by absolute file URL, so the output still resolves them from any location.
 *
 * Caveats of bundling, written down for authors: `import.meta.url` and `__dirname` inside bundled modules name the
 * bundle, not the original file; resolve data files from `process.cwd()` (the replica runs in the base directory).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, version as esbuildVersion, type Plugin } from 'esbuild';
import { ElasticServingError } from '../core/errors.ts';

export interface TranspileOptions {
  /** Handler module path (`spec.handler`), `.ts`, `.mts`, `.js` or `.mjs`; relative paths are against `baseDir`. */
  handler: string;
  /** Namespace of the Function; part of the output path. */
  namespace: string;
  /** Name of the Function; part of the output path. */
  name: string;
  /** @defaultValue process.cwd() */
  baseDir?: string;
  /** State directory; relative paths are against `baseDir`. @defaultValue '.elastic-serving' */
  stateDir?: string;
  /** Extra packages to keep out of the bundle (loaded from node_modules at run time). @defaultValue [] */
  external?: string[];
}

export interface TranspiledHandler {
  /** Absolute path of the `.mjs` a replica runs with plain `node`. */
  file: string;
  /** Content hash of the output (its file name). */
  hash: string;
  /** True when nothing changed since the last build and the previous output was reused. */
  cached: boolean;
  /** How long the check (and build, if any) took. */
  ms: number;
}

/** Packages that load native binaries or files relative to their own directory and so cannot be bundled. */
export const DEFAULT_EXTERNALS: readonly string[] = [
  'onnxruntime-node',
  // Not native, but 1.4 MB that a model server needs only for s3:// URIs: bundled, it cost ~60 ms of every cold start.
  '@aws-sdk/client-s3',
  'sharp',
  'canvas',
  '@tensorflow/tfjs-node',
  'better-sqlite3',
  'bufferutil',
  'utf-8-validate',
  'fsevents',
];

/** Dependencies that mark a package as a native addon. */
const NATIVE_MARKERS = [
  'node-gyp-build',
  'bindings',
  'prebuild-install',
  '@mapbox/node-pre-gyp',
  'node-pre-gyp',
  'node-addon-api',
  'cmake-js',
];

// Bump when the entry, banner or build options change, so old caches are not reused.
const BUILD_FORMAT = 3;
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SDK_ENTRY = join(PROJECT_ROOT, 'functions/sdk/index.ts');
const BUILTINS = new Set(builtinModules);

/**
 * esbuild keeps `require` (renaming user bindings that clash) but not `__dirname`/`__filename`, which are therefore
 * mapped through `define` to names no user module declares. Bundled CommonJS packages need `require` for Node
 * builtins they load lazily.
 */
const BANNER = [
  "import { createRequire as __esCreateRequire } from 'node:module';",
  "import { fileURLToPath as __esFileURLToPath } from 'node:url';",
  'const require = __esCreateRequire(import.meta.url);',
  'const __es_filename = __esFileURLToPath(import.meta.url);',
  "const __es_dirname = __es_filename.slice(0, __es_filename.lastIndexOf('/'));",
].join('\n');

interface Manifest {
  format: number;
  esbuild: string;
  handler: string;
  hash: string;
  file: string;
  external: string[];
  inputs: Record<string, string>;
}

function sha(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

async function isNativePackage(resolvedFile: string, name: string, memo: Map<string, boolean>): Promise<boolean> {
  const known = memo.get(name);
  if (known !== undefined) return known;
  let dir = dirname(resolvedFile);
  let native = false;
  while (dir !== dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      const meta = JSON.parse(await readFile(pj, 'utf8')) as Record<string, unknown>;
      if (meta.name === name) {
        const deps = { ...(meta.dependencies as object), ...(meta.optionalDependencies as object) };
        native =
          meta.gypfile === true ||
          meta.binary !== undefined ||
          existsSync(join(dir, 'binding.gyp')) ||
          NATIVE_MARKERS.some((m) => m in deps);
        break;
      }
    }
    dir = dirname(dir);
  }
  memo.set(name, native);
  return native;
}

function resolvePlugin(external: ReadonlySet<string>): Plugin {
  const nativeMemo = new Map<string, boolean>();
  return {
    name: 'elastic-serving-resolve',
    setup(b) {
      b.onResolve({ filter: /^elastic-serving\/sdk$/ }, () => ({ path: SDK_ENTRY }));
      // A native addon file: keep it on disk and load it by absolute path at run time.
      b.onResolve({ filter: /\.node$/ }, (args) => ({ path: resolve(args.resolveDir, args.path), external: true }));
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('node:') || BUILTINS.has(args.path) || args.kind === 'entry-point') return undefined;
        const name = packageName(args.path);
        if (name === 'elastic-serving') return undefined;
        let resolved: string;
        try {
          resolved = createRequire(join(args.resolveDir || PROJECT_ROOT, 'noop.js')).resolve(args.path, {
            paths: [args.resolveDir, PROJECT_ROOT],
          });
        } catch {
          return undefined; // let esbuild report the missing package with its own message
        }
        if (external.has(name) || (await isNativePackage(resolved, name, nativeMemo))) {
          return { path: pathToFileURL(resolved).href, external: true };
        }
        return undefined;
      });
    },
  };
}

async function inputsUnchanged(manifest: Manifest, cwd: string): Promise<boolean> {
  const entries = Object.entries(manifest.inputs);
  const checks = await Promise.all(
    entries.map(async ([path, digest]) => {
      try {
        return sha(await readFile(resolve(cwd, path))) === digest;
      } catch {
        return false;
      }
    }),
  );
  return checks.every(Boolean);
}

/** Builds (or reuses) the replica entry of a Function. Throws ES_ERR_INVALID_RESOURCE with esbuild's reasons. */
export async function transpileHandler(options: TranspileOptions): Promise<TranspiledHandler> {
  const t0 = performance.now();
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const handler = isAbsolute(options.handler) ? options.handler : resolve(baseDir, options.handler);
  const stateDir = resolve(baseDir, options.stateDir ?? '.elastic-serving');
  const outDir = join(stateDir, 'functions', options.namespace, options.name);
  const manifestPath = join(outDir, 'manifest.json');
  const external = [...new Set([...DEFAULT_EXTERNALS, ...(options.external ?? [])])].sort();

  if (!existsSync(handler)) {
    throw new ElasticServingError('ES_ERR_INVALID_RESOURCE', `spec.handler: file not found: ${handler}`);
  }
  const previous = await readFile(manifestPath, 'utf8').then(
    (t) => JSON.parse(t) as Manifest,
    () => undefined,
  );
  if (
    previous &&
    previous.format === BUILD_FORMAT &&
    previous.esbuild === esbuildVersion &&
    previous.handler === handler &&
    previous.external.join() === external.join() &&
    existsSync(previous.file) &&
    (await inputsUnchanged(previous, PROJECT_ROOT))
  ) {
    return { file: previous.file, hash: previous.hash, cached: true, ms: performance.now() - t0 };
  }

  const entry = [
    `import fn from ${JSON.stringify(handler)};`,
    "import { serve } from 'elastic-serving/sdk';",
    "await serve(fn, { port: Number(process.env.PORT ?? '0'), handleSignals: true });",
  ].join('\n');
  const result = await build({
    stdin: { contents: entry, resolveDir: baseDir, sourcefile: '<replica-entry>', loader: 'js' },
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    outfile: join(outDir, 'out.mjs'),
    banner: { js: BANNER },
    define: { __dirname: '__es_dirname', __filename: '__es_filename' },
    nodePaths: [join(PROJECT_ROOT, 'node_modules')],
    plugins: [resolvePlugin(new Set(external))],
    legalComments: 'none',
    logLevel: 'silent',
  }).catch((err: unknown) => {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors;
    const reason = errors?.length
      ? errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)).join('; ')
      : String(err);
    throw new ElasticServingError(
      'ES_ERR_INVALID_RESOURCE',
      `spec.handler: cannot build ${options.handler}: ${reason}`,
      { cause: err },
    );
  });
  const output = result.outputFiles.find((f) => f.path.endsWith('.mjs'));
  if (!output) throw new ElasticServingError('ES_ERR_INTERNAL', 'esbuild produced no output');
  const hash = sha(output.contents).slice(0, 16);
  const file = join(outDir, `${hash}.mjs`);
  await mkdir(outDir, { recursive: true });
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, output.contents);
    await rename(tmp, file);
  }
  const inputs: Record<string, string> = {};
  await Promise.all(
    Object.keys(result.metafile.inputs)
      .filter((p) => !p.endsWith('<replica-entry>'))
      .map(async (p) => {
        inputs[p] = sha(await readFile(resolve(PROJECT_ROOT, p)));
      }),
  );
  const manifest: Manifest = { format: BUILD_FORMAT, esbuild: esbuildVersion, handler, hash, file, external, inputs };
  const manifestTmp = `${manifestPath}.${randomUUID()}.tmp`;
  await writeFile(manifestTmp, JSON.stringify(manifest));
  await rename(manifestTmp, manifestPath);
  await pruneOld(outDir, file, previous?.file);
  return { file, hash, cached: false, ms: performance.now() - t0 };
}

/** Keeps the new output and the one before it (a replica of the previous generation may still restart from it). */
async function pruneOld(outDir: string, current: string, previous: string | undefined): Promise<void> {
  const keep = new Set([current, previous]);
  for (const entry of await readdir(outDir)) {
    const path = join(outDir, entry);
    if (entry.endsWith('.mjs') && !keep.has(path) && (await stat(path)).isFile()) await rm(path, { force: true });
  }
}
