import type { ArithmeticOp, CesqlNode, ComparisonOp } from './ast.ts';
import { CesqlParseError } from './errors.ts';
import { type Token, tokenize } from './lexer.ts';
import { INT32_MAX } from './values.ts';

/*
 * Precedence climbing over the official ANTLR grammar (cesql/CESQLParser.g4), whose alternatives, highest first,
 * are: function call, NOT, unary minus, LIKE, EXISTS, IN, * / %, + -, comparisons, AND/OR/XOR, (...), atoms.
 * Consequences worth knowing, shared with the CloudEvents Go SDK that Knative uses:
 * - NOT and unary minus take a single primary: `NOT a = b` is `(NOT a) = b`; write `NOT (a = b)`.
 * - LIKE and IN bind tighter than arithmetic and comparisons: `a = b IN (1)` is `a = (b IN (1))`.
 * - AND, OR and XOR share one level and group to the right: `a AND b OR c` is `a AND (b OR c)`.
 */
const LEVEL = { logic: 3, comparison: 4, additive: 5, multiplicative: 6, in: 7, like: 9, negate: 10, not: 11 };

const COMPARISON: Readonly<Record<string, ComparisonOp>> = {
  '=': '=',
  '!=': '!=',
  '<>': '!=',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};
const FUNCTION_NAME = /^[A-Za-z][A-Za-z_]*$/;
const IDENTIFIER = /^[A-Za-z0-9]+$/;

/** Parses a CESQL expression into a syntax tree; throws `CesqlParseError` with the offending offset. */
export function parseCesql(source: string): CesqlNode {
  const parser = new Parser(tokenize(source));
  const node = parser.expression(0);
  parser.expectEnd();
  return node;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.type !== 'eof') this.i++;
    return t;
  }

  private isOp(t: Token, text: string): boolean {
    return t.type === 'op' && t.text === text;
  }

  private isKeyword(t: Token, text: string): boolean {
    return t.type === 'keyword' && t.text === text;
  }

  private fail(t: Token, expected: string): never {
    const found = t.type === 'eof' ? 'end of expression' : t.type === 'string' ? 'a string literal' : `'${t.text}'`;
    throw new CesqlParseError(t.start, `expected ${expected} but found ${found}`);
  }

  private expectOp(text: string): Token {
    const t = this.peek();
    if (!this.isOp(t, text)) this.fail(t, `'${text}'`);
    return this.next();
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.type !== 'eof') this.fail(t, 'an operator or end of expression');
  }

  expression(minLevel: number): CesqlNode {
    let left = this.prefix();
    for (;;) {
      const t = this.peek();
      const negated = this.isKeyword(t, 'NOT');
      const op = negated ? this.peek(1) : t;
      if (this.isKeyword(op, 'LIKE')) {
        if (LEVEL.like < minLevel) break;
        this.i += negated ? 2 : 1;
        left = { kind: 'like', pos: left.pos, negated, operand: left, pattern: this.likePattern() };
      } else if (this.isKeyword(op, 'IN')) {
        if (LEVEL.in < minLevel) break;
        this.i += negated ? 2 : 1;
        left = { kind: 'in', pos: left.pos, negated, operand: left, set: this.setExpression() };
      } else if (negated) {
        this.fail(op, 'LIKE or IN after NOT');
      } else if (t.type === 'op' && (t.text === '*' || t.text === '/' || t.text === '%')) {
        if (LEVEL.multiplicative < minLevel) break;
        this.next();
        const right = this.expression(LEVEL.multiplicative + 1);
        left = { kind: 'arithmetic', pos: left.pos, op: t.text as ArithmeticOp, left, right };
      } else if (t.type === 'op' && (t.text === '+' || t.text === '-')) {
        if (LEVEL.additive < minLevel) break;
        this.next();
        const right = this.expression(LEVEL.additive + 1);
        left = { kind: 'arithmetic', pos: left.pos, op: t.text as ArithmeticOp, left, right };
      } else if (t.type === 'op' && COMPARISON[t.text] !== undefined) {
        if (LEVEL.comparison < minLevel) break;
        this.next();
        const right = this.expression(LEVEL.comparison + 1);
        left = { kind: 'comparison', pos: left.pos, op: COMPARISON[t.text]!, left, right };
      } else if (t.type === 'keyword' && (t.text === 'AND' || t.text === 'OR' || t.text === 'XOR')) {
        if (LEVEL.logic < minLevel) break;
        this.next();
        const right = this.expression(LEVEL.logic); // right-associative, as in the official grammar
        left = { kind: 'logic', pos: left.pos, op: t.text, left, right };
      } else {
        break;
      }
    }
    return left;
  }

  private prefix(): CesqlNode {
    const t = this.next();
    const pos = t.start;
    switch (t.type) {
      case 'int':
        return { kind: 'literal', pos, value: this.integer(t.text, false, pos) };
      case 'string':
        return { kind: 'literal', pos, value: t.text };
      case 'keyword':
        if (t.text === 'TRUE' || t.text === 'FALSE') return { kind: 'literal', pos, value: t.text === 'TRUE' };
        if (t.text === 'NOT') return { kind: 'not', pos, operand: this.expression(LEVEL.not) };
        if (t.text === 'EXISTS') return { kind: 'exists', pos, name: this.identifier(this.next()) };
        return this.fail(t, 'an expression');
      case 'word':
        if (this.isOp(this.peek(), '(')) return this.call(t);
        return { kind: 'attribute', pos, name: this.identifier(t) };
      case 'op':
        return this.prefixOperator(t);
      default:
        return this.fail(t, 'an expression');
    }
  }

  private prefixOperator(t: Token): CesqlNode {
    const pos = t.start;
    const following = this.peek();
    // A sign written against the digits is part of the literal (official lexer), which lets -2147483648 exist.
    if ((t.text === '-' || t.text === '+') && following.type === 'int' && following.start === t.end) {
      this.next();
      return { kind: 'literal', pos, value: this.integer(following.text, t.text === '-', pos) };
    }
    if (t.text === '-') return { kind: 'negate', pos, operand: this.expression(LEVEL.negate) };
    if (t.text === '(') {
      const inner = this.expression(0);
      this.expectOp(')');
      return inner;
    }
    return this.fail(t, 'an expression');
  }

  private integer(digits: string, negative: boolean, pos: number): number {
    const magnitude = Number(digits);
    if (magnitude > INT32_MAX + (negative ? 1 : 0)) {
      throw new CesqlParseError(pos, `integer literal ${negative ? '-' : ''}${digits} is out of the 32-bit range`);
    }
    return negative ? -magnitude : magnitude;
  }

  private identifier(t: Token): string {
    if (t.type !== 'word' || !IDENTIFIER.test(t.text)) this.fail(t, 'an attribute name');
    // Attribute names are lower-case in CloudEvents; the official SDKs lower-case identifiers (EXISTS SOURCE).
    return t.text.toLowerCase();
  }

  private call(nameToken: Token): CesqlNode {
    if (!FUNCTION_NAME.test(nameToken.text)) {
      throw new CesqlParseError(nameToken.start, `invalid function name ${JSON.stringify(nameToken.text)}`);
    }
    this.expectOp('(');
    const args: CesqlNode[] = [];
    if (!this.isOp(this.peek(), ')')) {
      args.push(this.expression(0));
      while (this.isOp(this.peek(), ',')) {
        this.next();
        args.push(this.expression(0));
      }
    }
    this.expectOp(')');
    return { kind: 'call', pos: nameToken.start, name: nameToken.text.toUpperCase(), args };
  }

  private likePattern(): string {
    const t = this.next();
    if (t.type !== 'string') this.fail(t, 'a string literal as LIKE pattern');
    return t.text;
  }

  private setExpression(): CesqlNode[] {
    this.expectOp('(');
    const set = [this.expression(0)];
    while (this.isOp(this.peek(), ',')) {
      this.next();
      set.push(this.expression(0));
    }
    this.expectOp(')');
    return set;
  }
}
