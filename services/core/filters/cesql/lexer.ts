import { CesqlParseError } from './errors.ts';

/** Keywords are case-insensitive (§2); they are stored upper-cased in `text`. */
const KEYWORDS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'IN', 'EXISTS', 'TRUE', 'FALSE']);

export type TokenType =
  | 'int' // unsigned digits; a sign is applied by the parser
  | 'string'
  | 'word' // identifier or function name, as written
  | 'keyword'
  | 'op' // ( ) , + - * / % = != <> < <= > >=
  | 'eof';

export interface Token {
  readonly type: TokenType;
  /** Keyword upper-cased, string literal unescaped, operator symbol, word/digits as written. */
  readonly text: string;
  /** 0-based offset of the first character. */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isWordChar = (c: number) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * Splits an expression into tokens. String literals follow the official lexer: a backslash always pairs with the
 * next character; only `\'` (in '...') and `\"` (in "...") are unescaped, any other pair is kept verbatim so LIKE
 * patterns still see `\%` and `\_`. A doubled quote inside a literal (`'it''s'`) is one quote, as in SQL.
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const n = source.length;
  let i = 0;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === 39 || c === 34) {
      const [text, end] = readString(source, i);
      tokens.push({ type: 'string', text, start, end });
      i = end;
      continue;
    }
    if (isWordChar(c)) {
      while (i < n && isWordChar(source.charCodeAt(i))) i++;
      const raw = source.slice(start, i);
      const upper = raw.toUpperCase();
      if (/^[0-9]+$/.test(raw)) tokens.push({ type: 'int', text: raw, start, end: i });
      else if (KEYWORDS.has(upper)) tokens.push({ type: 'keyword', text: upper, start, end: i });
      else tokens.push({ type: 'word', text: raw, start, end: i });
      continue;
    }
    const op = readOperator(source, i);
    if (op === undefined) {
      throw new CesqlParseError(i, `unexpected character ${JSON.stringify(source[i])}`);
    }
    tokens.push({ type: 'op', text: op, start, end: i + op.length });
    i += op.length;
  }
  tokens.push({ type: 'eof', text: '', start: n, end: n });
  return tokens;
}

function readOperator(source: string, i: number): string | undefined {
  const two = source.slice(i, i + 2);
  if (two === '!=' || two === '<>' || two === '<=' || two === '>=') return two;
  const one = source[i]!;
  return '(),+-*/%=<>'.includes(one) ? one : undefined;
}

function readString(source: string, start: number): [string, number] {
  const quote = source[start]!;
  let out = '';
  let i = start + 1;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '\\' && i + 1 < source.length) {
      const next = source[i + 1]!;
      out += next === quote ? quote : ch + next;
      i += 2;
    } else if (ch === quote) {
      if (source[i + 1] === quote) {
        out += quote;
        i += 2;
      } else {
        return [out, i + 1];
      }
    } else {
      out += ch;
      i++;
    }
  }
  throw new CesqlParseError(start, 'unterminated string literal');
}
