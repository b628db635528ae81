import { ElasticServingError } from '../core/errors.ts';
import type { Resource } from './resources/types.ts';

/** A parsed `labelSelector`/`fieldSelector`: true when the object matches. */
export type Selector = (obj: Resource) => boolean;

/** Splits on commas that are not inside `in (a,b)` parentheses. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') out.push(current.trim());
  return out.filter((t) => t !== '');
}

function bad(selector: string): ElasticServingError {
  return new ElasticServingError('ES_ERR_BAD_REQUEST', `unable to parse selector ${JSON.stringify(selector)}`);
}

/** Kubernetes label selector: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`. */
export function parseLabelSelector(selector: string | undefined): Selector {
  if (selector === undefined || selector.trim() === '') return () => true;
  const checks = terms(selector).map((term): ((labels: Record<string, string>) => boolean) => {
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m !== null) {
      const key = m[1]!;
      const values = new Set(m[3]!.split(',').map((v) => v.trim()));
      return m[2] === 'in'
        ? (l) => l[key] !== undefined && values.has(l[key])
        : (l) => l[key] === undefined || !values.has(l[key]);
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (m !== null) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m !== null) {
      const key = m[2]!;
      return m[1] === '!' ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
    }
    throw bad(selector);
  });
  return (obj) => checks.every((check) => check(obj.metadata.labels ?? {}));
}

/** Field selectors Kubernetes supports for custom resources: `metadata.name` and `metadata.namespace`. */
export function parseFieldSelector(selector: string | undefined): Selector {
  if (selector === undefined || selector.trim() === '') return () => true;
  const checks = terms(selector).map((term): Selector => {
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (m === null) throw bad(selector);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const read = (o: Resource) => (field === 'metadata.name' ? o.metadata.name : (o.metadata.namespace ?? 'default'));
    return op === '!=' ? (o) => read(o) !== value : (o) => read(o) === value;
  });
  return (obj) => checks.every((check) => check(obj));
}
