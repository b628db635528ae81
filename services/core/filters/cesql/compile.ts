import type { CloudEvent } from '../../cloudevent.ts';
import type { CesqlNode } from './ast.ts';
import { castToBoolean, castToInteger, castToString } from './casting.ts';
import { type CesqlError, evalError } from './errors.ts';
import { BUILTIN_FUNCTIONS, BUILTIN_REGISTRY, type CesqlFunction, FunctionRegistry } from './functions.ts';
import { arithmeticOp, comparisonOp, type Evaluator, inOp, likeOp, logicOp, negateOp, notOp } from './operators.ts';
import { parseCesql } from './parser.ts';
import { type CesqlType, type CesqlValue, EvalContext, INT32_MAX, INT32_MIN, zeroOf } from './values.ts';

/** Value and errors of one evaluation (§1: both are always returned). */
export interface CesqlResult {
  readonly value: CesqlValue;
  /** Empty when the evaluation succeeded; with fail-fast evaluation it normally holds the first error only. */
  readonly errors: readonly CesqlError[];
}

export interface CesqlCompileOptions {
  /** Extra functions, next to (and overriding by name and arity) the built-ins. @defaultValue none */
  functions?: readonly CesqlFunction[];
}

/** A compiled expression: parse once, evaluate per event. */
export interface CompiledCesql {
  readonly source: string;
  readonly ast: CesqlNode;
  /** Evaluates against an event's context attributes (data is never read, §1). */
  evaluate(event: CloudEvent): CesqlResult;
  /** Filter semantics (§1.2): true only when the value is the Boolean `true` and no error occurred. */
  matches(event: CloudEvent): boolean;
}

const NO_ERRORS: readonly CesqlError[] = Object.freeze([]);
const FUNCTION_THREW = evalError('functionEvaluation', 'the function failed');
const FUNCTION_BAD_RETURN = evalError('functionEvaluation', 'the function returned a value of the wrong type');

/** Parses and compiles an expression; throws `CesqlParseError` when it is not valid CESQL. */
export function compileCesql(source: string, options: CesqlCompileOptions = {}): CompiledCesql {
  const ast = parseCesql(source);
  const registry = options.functions?.length
    ? new FunctionRegistry([...BUILTIN_FUNCTIONS, ...options.functions].reverse())
    : BUILTIN_REGISTRY;
  const root = compileNode(ast, registry);
  return {
    source,
    ast,
    evaluate(event) {
      const c = new EvalContext(event.attributes);
      const value = root(c);
      return { value, errors: c.errors ?? NO_ERRORS };
    },
    matches(event) {
      const c = new EvalContext(event.attributes);
      const value = root(c);
      return value === true && c.errors === null;
    },
  };
}

function compileNode(node: CesqlNode, registry: FunctionRegistry): Evaluator {
  const sub = (n: CesqlNode) => compileNode(n, registry);
  switch (node.kind) {
    case 'literal': {
      const value = node.value;
      return () => value;
    }
    case 'attribute':
      return attribute(node.name);
    case 'exists': {
      const name = node.name;
      return (c) => isAttributeValue(c.attrs[name]);
    }
    case 'not':
      return notOp(sub(node.operand));
    case 'negate':
      return negateOp(sub(node.operand));
    case 'arithmetic':
      return arithmeticOp(node.op, sub(node.left), sub(node.right));
    case 'comparison':
      return comparisonOp(node.op, sub(node.left), sub(node.right));
    case 'logic':
      return logicOp(node.op, sub(node.left), sub(node.right));
    case 'like':
      return likeOp(sub(node.operand), node.pattern, node.negated);
    case 'in':
      return inOp(sub(node.operand), node.set.map(sub), node.negated);
    case 'call':
      return call(node.name, node.args.map(sub), registry);
  }
}

function isAttributeValue(v: unknown): v is CesqlValue {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean';
}

/**
 * Reads a context attribute. Typed extensions keep their CESQL type (Integer, Boolean); a number that is not a
 * 32-bit integer is shown as its string form. Anything that is not an attribute value (including inherited
 * object members such as `constructor`) counts as missing.
 */
function attribute(name: string): Evaluator {
  const missing = evalError('missingAttribute', `missing attribute "${name}"`);
  return (c) => {
    const v = c.attrs[name];
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : String(v);
      default:
        c.fail(missing);
        return false; // §3.2: when the type cannot be known, Boolean is assumed
    }
  };
}

function castArgument(v: CesqlValue, type: CesqlType, c: EvalContext): CesqlValue {
  switch (type) {
    case 'string':
      return castToString(v);
    case 'integer':
      return castToInteger(v, c);
    case 'boolean':
      return castToBoolean(v, c);
    default:
      return v;
  }
}

function call(name: string, args: readonly Evaluator[], registry: FunctionRegistry): Evaluator {
  const fn = registry.resolve(name, args.length);
  if (fn === undefined) {
    const missing = evalError('missingFunction', `no function ${name} taking ${args.length} argument(s)`);
    return (c) => {
      c.fail(missing);
      return false;
    };
  }
  const types = args.map((_, i) => fn.params[i] ?? fn.variadic ?? 'any');
  const zero = zeroOf(fn.returns);
  return (c) => {
    const values: CesqlValue[] = new Array(args.length);
    for (let i = 0; i < args.length; i++) {
      const v = args[i]!(c);
      if (c.errors !== null) return zero;
      values[i] = castArgument(v, types[i]!, c);
    }
    if (c.errors !== null) return zero;
    let result: CesqlValue;
    try {
      result = fn.call(values, c);
    } catch {
      c.fail(FUNCTION_THREW);
      return zero;
    }
    if (typeof result === typeof zero) return result;
    c.fail(FUNCTION_BAD_RETURN);
    return zero;
  };
}
