import { parseAllDocuments } from 'yaml';
import { InvalidResourceError } from '../../core/errors.ts';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `kind: List` (and `TriggerList` etc., as `kubectl get -o yaml` writes them) and bare arrays are flattened. */
function flatten(doc: unknown, where: string, out: unknown[]): void {
  if (doc === null || doc === undefined) return;
  if (Array.isArray(doc)) {
    doc.forEach((item, i) => {
      flatten(item, `${where}[${i}]`, out);
    });
    return;
  }
  if (!isRecord(doc)) {
    throw new InvalidResourceError(`${where}: a resource must be an object`, [
      { path: where, message: 'a resource must be an object' },
    ]);
  }
  if (typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(doc.items)) {
    doc.items.forEach((item, i) => {
      flatten(item, `${where}.items[${i}]`, out);
    });
    return;
  }
  out.push(doc);
}

/**
 * Reads manifests: JSON, or YAML with any number of `---` documents; `kind: List` items and top-level arrays are
 * expanded, empty documents skipped. Syntax errors throw `InvalidResourceError` naming the document and line.
 */
export function parseManifests(text: string): unknown[] {
  const out: unknown[] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      flatten(JSON.parse(text), 'document[0]', out);
      return out;
    } catch (err) {
      if (err instanceof InvalidResourceError) throw err;
      // Not strict JSON (e.g. YAML flow style): let the YAML parser have it.
    }
  }
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const first = doc.errors[0];
    if (first !== undefined) {
      const line = first.linePos?.[0]?.line;
      const where = `document[${i}]${line === undefined ? '' : ` (line ${line})`}`;
      const message = first.message.split('\n')[0] ?? first.message;
      throw new InvalidResourceError(`${where}: invalid YAML: ${message}`, [{ path: `document[${i}]`, message }]);
    }
    flatten(doc.toJS({ maxAliasCount: 100 }), `document[${i}]`, out);
  });
  return out;
}
