import { describe, expect, it } from 'vitest';
import { CesqlParseError } from './errors.ts';
import { tokenize } from './lexer.ts';

const texts = (s: string) => tokenize(s).map((t) => `${t.type}:${t.text}`);

describe('tokenize', () => {
  it('splits operators, words, integers and keywords (case-insensitive)', () => {
    expect(texts('a<>b AND c>=1 oR not x_y(2)')).toEqual([
      'word:a',
      'op:<>',
      'word:b',
      'keyword:AND',
      'word:c',
      'op:>=',
      'int:1',
      'keyword:OR',
      'keyword:NOT',
      'word:x_y',
      'op:(',
      'int:2',
      'op:)',
      'eof:',
    ]);
  });

  it('records offsets', () => {
    const [a, eq, b, eof] = tokenize('ab  = "c"');
    expect([a!.start, a!.end, eq!.start, b!.start, b!.end, eof!.start]).toEqual([0, 2, 4, 6, 9, 9]);
  });

  it('unescapes only the own quote; other backslash pairs stay verbatim for LIKE', () => {
    expect(tokenize(String.raw`'a"b\'c'`)[0]!.text).toBe(`a"b'c`);
    expect(tokenize(String.raw`"a'b\"c"`)[0]!.text).toBe(`a'b"c`);
    expect(tokenize(String.raw`'a\%b\_c\d'`)[0]!.text).toBe(String.raw`a\%b\_c\d`);
    expect(tokenize(String.raw`'a\\'`)[0]!.text).toBe(String.raw`a\\`);
  });

  it('reads a doubled quote as one quote, and an empty literal', () => {
    expect(tokenize("'it''s'")[0]!.text).toBe("it's");
    expect(texts('\'\' = ""')).toEqual(['string:', 'op:=', 'string:', 'eof:']);
  });

  it('treats digits followed by letters as one word, as the official lexer does', () => {
    expect(texts('123 1a2')).toEqual(['int:123', 'word:1a2', 'eof:']);
  });

  it('reports unterminated strings and stray characters with their position', () => {
    expect(() => tokenize("a = 'abc")).toThrow(new CesqlParseError(4, 'unterminated string literal'));
    expect(() => tokenize(String.raw`'abc\'`)).toThrow(CesqlParseError);
    const err = (() => {
      try {
        tokenize('a ! b');
      } catch (e) {
        return e as CesqlParseError;
      }
    })();
    expect(err?.position).toBe(2);
    expect(err?.kind).toBe('parse');
    expect(err?.message).toBe('parse error at 2: unexpected character "!"');
  });
});
