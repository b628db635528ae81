import type { CesqlValue } from './values.ts';

export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%';
export type LogicOp = 'AND' | 'OR' | 'XOR';

/** Syntax tree of a CESQL expression; `pos` is the 0-based offset where the node starts. */
export type CesqlNode =
  | { kind: 'literal'; pos: number; value: CesqlValue }
  | { kind: 'attribute'; pos: number; name: string }
  | { kind: 'exists'; pos: number; name: string }
  | { kind: 'not'; pos: number; operand: CesqlNode }
  | { kind: 'negate'; pos: number; operand: CesqlNode }
  | { kind: 'comparison'; pos: number; op: ComparisonOp; left: CesqlNode; right: CesqlNode }
  | { kind: 'arithmetic'; pos: number; op: ArithmeticOp; left: CesqlNode; right: CesqlNode }
  | { kind: 'logic'; pos: number; op: LogicOp; left: CesqlNode; right: CesqlNode }
  | { kind: 'like'; pos: number; negated: boolean; operand: CesqlNode; pattern: string }
  | { kind: 'in'; pos: number; negated: boolean; operand: CesqlNode; set: CesqlNode[] }
  | { kind: 'call'; pos: number; name: string; args: CesqlNode[] };
