/** Structural equality of JSON values, ignoring key order (YAML re-applied with keys moved is no change). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** One RFC 6902 operation. */
export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

/** Thrown when a JSON patch cannot apply; the API answers 422. */
export class JsonPatchError extends Error {}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new JsonPatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(doc: unknown, tokens: string[]): { parent: Record<string, unknown> | unknown[]; key: string } {
  let node: unknown = doc;
  for (const token of tokens.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(token)] : (node as Record<string, unknown> | undefined)?.[token];
    if (typeof node !== 'object' || node === null) throw new JsonPatchError(`path not found: /${tokens.join('/')}`);
  }
  return { parent: node as Record<string, unknown> | unknown[], key: tokens.at(-1)! };
}

function read(doc: unknown, path: string): unknown {
  let node: unknown = doc;
  for (const token of pointer(path)) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, token)) {
      throw new JsonPatchError(`path not found: ${path}`);
    }
    node = (node as Record<string, unknown>)[token];
  }
  return node;
}

function write(doc: unknown, path: string, value: unknown, insert: boolean): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length)
      throw new JsonPatchError(`bad index in ${path}`);
    parent.splice(index, insert ? 0 : 1, value);
  } else parent[key] = value;
  return doc;
}

function remove(doc: unknown, path: string): unknown {
  const tokens = pointer(path);
  read(doc, path);
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return doc;
}

/** RFC 6902 JSON patch on a copy of `doc`. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new JsonPatchError('a JSON patch must be a list of operations');
  let out = structuredClone(doc);
  for (const raw of ops as JsonPatchOp[]) {
    switch (raw.op) {
      case 'add':
        out = write(out, raw.path, structuredClone(raw.value), true);
        break;
      case 'remove':
        out = remove(out, raw.path);
        break;
      case 'replace':
        read(out, raw.path);
        out = write(out, raw.path, structuredClone(raw.value), false);
        break;
      case 'move': {
        const value = read(out, raw.from ?? '');
        out = write(remove(out, raw.from ?? ''), raw.path, value, true);
        break;
      }
      case 'copy':
        out = write(out, raw.path, structuredClone(read(out, raw.from ?? '')), true);
        break;
      case 'test':
        if (!jsonEqual(read(out, raw.path), raw.value)) throw new JsonPatchError(`test failed at ${raw.path}`);
        break;
      default:
        throw new JsonPatchError(`unknown JSON patch op ${JSON.stringify((raw as { op?: unknown }).op)}`);
    }
  }
  return out;
}
