import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ResourceObject } from './client.ts';
import { CliError, UsageError } from './errors.ts';
import type { CliIo } from './io.ts';

/** One resource read from a manifest, with where it came from for error messages. */
export interface Manifest {
  object: ResourceObject;
  /** `file.yaml #2` style location (1-based document index). */
  origin: string;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Expands `-f` arguments: `-` is stdin, a directory is every .yaml/.yml/.json in it (sorted, not recursive). */
async function readSources(paths: readonly string[], io: CliIo): Promise<{ name: string; text: string }[]> {
  const out: { name: string; text: string }[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ name: '<stdin>', text: await io.readStdin() });
      continue;
    }
    const full = resolve(io.cwd, p);
    const info = await stat(full).catch(() => undefined);
    if (!info) throw new UsageError(`${p}: no such file or directory`);
    if (info.isDirectory()) {
      const entries = (await readdir(full)).filter((f) => MANIFEST_EXTENSIONS.has(extname(f).toLowerCase())).sort();
      if (entries.length === 0) throw new UsageError(`${p}: no .yaml, .yml or .json files in this directory`);
      for (const f of entries) out.push({ name: join(p, f), text: await readFile(join(full, f), 'utf8') });
    } else {
      out.push({ name: p, text: await readFile(full, 'utf8') });
    }
  }
  return out;
}

function describeType(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value;
}

/** Checks the fields every write needs; returns problems as `field: message`. */
export function manifestProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`document must be a mapping, got ${describeType(value)}`];
  }
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof v.apiVersion !== 'string' || v.apiVersion === '') problems.push('apiVersion: required');
  // A bare `v1` is the core group (Secret); every other kind names its group.
  else if (!/^([^/]+\/[^/]+|v1)$/.test(v.apiVersion))
    problems.push(`apiVersion: "${v.apiVersion}" must be group/version (or v1 for a Secret)`);
  if (typeof v.kind !== 'string' || v.kind === '') problems.push('kind: required');
  const meta = v.metadata;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) problems.push('metadata.name: required');
  else {
    const m = meta as Record<string, unknown>;
    if (typeof m.name !== 'string' || m.name === '') problems.push('metadata.name: required');
    if (m.namespace !== undefined && (typeof m.namespace !== 'string' || m.namespace === '')) {
      problems.push('metadata.namespace: must be a non-empty string');
    }
  }
  return problems;
}

/**
 * Parses multi-document YAML or JSON text into objects. A Kubernetes `List` (e.g. the output of
 * `get -o yaml`) expands into its items; empty documents are skipped.
 */
export function parseManifestText(text: string, name: string): { value: unknown; origin: string }[] {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  const out: { value: unknown; origin: string }[] = [];
  list.forEach((doc, i) => {
    const origin = `${name} #${i + 1}`;
    const error = doc.errors[0];
    if (error) {
      const where = error.linePos?.[0] ? ` (line ${error.linePos[0].line}, column ${error.linePos[0].col})` : '';
      // prettyErrors appends the position and a source excerpt; we print the position once, up front.
      const message = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').split('\n', 1)[0];
      throw new CliError(`${origin}: invalid YAML${where}: ${message}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const asList = value as { kind?: unknown; items?: unknown };
    if (typeof asList.kind === 'string' && asList.kind.endsWith('List') && Array.isArray(asList.items)) {
      for (const [j, item] of asList.items.entries())
        out.push({ value: item as unknown, origin: `${origin} item ${j + 1}` });
      return;
    }
    out.push({ value, origin });
  });
  return out;
}

/**
 * Reads, parses and checks every manifest before anything is written, so a bad document anywhere refuses the
 * whole apply. Objects without a namespace get `defaultNamespace`.
 * @throws CliError listing every problem found, each with its file and document number.
 */
export async function loadManifests(
  paths: readonly string[],
  defaultNamespace: string,
  io: CliIo,
  verb = 'applied',
): Promise<Manifest[]> {
  if (paths.length === 0) throw new UsageError('no manifests: pass -f <file|dir|->');
  const sources = await readSources(paths, io);
  const manifests: Manifest[] = [];
  const problems: string[] = [];
  for (const source of sources) {
    let docs: { value: unknown; origin: string }[];
    try {
      docs = parseManifestText(source.text, source.name);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      continue;
    }
    for (const doc of docs) {
      const docProblems = manifestProblems(doc.value);
      if (docProblems.length > 0) {
        for (const p of docProblems) problems.push(`${doc.origin}: ${p}`);
        continue;
      }
      const object = structuredClone(doc.value) as ResourceObject;
      object.metadata.namespace ??= defaultNamespace;
      manifests.push({ object, origin: doc.origin });
    }
  }
  if (problems.length > 0) {
    throw new CliError(
      `nothing ${verb}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the manifests`,
      {
        details: problems,
      },
    );
  }
  if (manifests.length === 0) throw new UsageError(`no resources found in ${paths.join(', ')}`);
  return manifests;
}
