/** CESQL v1 (CloudEvents SQL Expression Language): parser, type system and evaluator. */
export type { ArithmeticOp, CesqlNode, ComparisonOp, LogicOp } from './ast.ts';
export { type CesqlCompileOptions, type CesqlResult, type CompiledCesql, compileCesql } from './compile.ts';
export { type CesqlError, type CesqlErrorKind, CesqlParseError } from './errors.ts';
export { BUILTIN_FUNCTIONS, type CesqlFunction } from './functions.ts';
export { parseCesql } from './parser.ts';
export type { CesqlType, CesqlValue } from './values.ts';
