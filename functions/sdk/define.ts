import type { FunctionDefinition, FunctionOptions, Handler } from './types.ts';

/** Declares a function; the handler module default-exports the result (DESIGN §5 "Function handlers"). */
export function defineFunction<T = unknown>(handler: Handler<T>, options: FunctionOptions = {}): FunctionDefinition<T> {
  if (typeof handler !== 'function') throw new TypeError('defineFunction(handler): handler must be a function');
  return Object.freeze({ kind: 'elastic-serving.function', handler, options: Object.freeze({ ...options }) });
}

/** Accepts a definition, or a bare handler function default-exported without `defineFunction`. */
export function asDefinition(value: unknown): FunctionDefinition {
  if (typeof value === 'function') return defineFunction(value as Handler);
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'elastic-serving.function'
  ) {
    return value as FunctionDefinition;
  }
  throw new TypeError('a handler module must default-export defineFunction(...) (or a handler function)');
}
