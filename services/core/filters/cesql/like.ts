/**
 * LIKE pattern matching (§3.4.3): `%` is any run of characters, `_` exactly one character (a Unicode code point),
 * `\%` and `\_` match the literal sign; any other backslash is an ordinary character (so `'ab\c' LIKE 'ab\c'`).
 *
 * Patterns are compiled once. The common shapes (`abc`, `abc%`, `%abc`, `%abc%`) become plain string tests; the
 * rest use a greedy segment matcher, linear in practice and O(text × pattern) at worst — never the exponential
 * backtracking a naive regular expression could fall into.
 */
export type LikeMatcher = (text: string) => boolean;

/** One `%`-free piece of the pattern: a code point, or `null` for `_`. */
type Segment = (string | null)[];

const SURROGATE = /[\uD800-\uDFFF]/;

export function compileLike(pattern: string): LikeMatcher {
  const segments = splitPattern(pattern);
  const literal = (seg: Segment) => (seg.includes(null) ? undefined : seg.join(''));
  if (segments.length === 1) {
    const exact = literal(segments[0]!);
    if (exact !== undefined) return (text) => text === exact;
  } else if (segments.length === 2) {
    const head = literal(segments[0]!);
    const tail = literal(segments[1]!);
    if (head !== undefined && tail === '') return (text) => text.startsWith(head);
    if (head === '' && tail !== undefined) return (text) => text.endsWith(tail);
  } else if (segments.length === 3 && segments[0]!.length === 0 && segments[2]!.length === 0) {
    const middle = literal(segments[1]!);
    if (middle !== undefined) return (text) => text.includes(middle);
  }
  return (text) => matchSegments(SURROGATE.test(text) ? Array.from(text) : text, segments);
}

/** Splits at unescaped `%`, dropping empty pieces between consecutive `%` (they change nothing). */
function splitPattern(pattern: string): Segment[] {
  const chars = Array.from(pattern);
  const segments: Segment[] = [];
  let current: Segment = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\\' && (chars[i + 1] === '%' || chars[i + 1] === '_')) {
      current.push(chars[++i]!);
    } else if (ch === '%') {
      if (current.length > 0 || segments.length === 0) segments.push(current);
      current = [];
    } else {
      current.push(ch === '_' ? null : ch);
    }
  }
  segments.push(current);
  return segments;
}

function matchAt(text: ArrayLike<string>, at: number, seg: Segment): boolean {
  for (let k = 0; k < seg.length; k++) {
    const want = seg[k];
    if (want !== null && text[at + k] !== want) return false;
  }
  return true;
}

function matchSegments(text: ArrayLike<string>, segments: readonly Segment[]): boolean {
  const first = segments[0]!;
  if (segments.length === 1) return text.length === first.length && matchAt(text, 0, first);
  const last = segments[segments.length - 1]!;
  const end = text.length - last.length;
  if (end < first.length || !matchAt(text, 0, first) || !matchAt(text, end, last)) return false;
  let pos = first.length;
  for (let s = 1; s < segments.length - 1; s++) {
    const seg = segments[s]!;
    let found = -1;
    for (let at = pos; at + seg.length <= end; at++) {
      if (matchAt(text, at, seg)) {
        found = at;
        break;
      }
    }
    if (found < 0) return false;
    pos = found + seg.length;
  }
  return true;
}
