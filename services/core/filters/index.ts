/**
 * Trigger filters: Knative's legacy attribute filter, the Subscriptions API dialects (exact, prefix, suffix, all,
 * any, not, cesql) and the CESQL v1 engine behind `cesql`.
 */
export { CesqlParseError, type CesqlResult, type CompiledCesql, compileCesql } from './cesql/index.ts';
export { compileTriggerFilter, FilterValidationError } from './compile.ts';
export type { Filter, FilterIssue, SubscriptionsApiFilter, TriggerFilterSpec } from './types.ts';
export { validateTriggerFilter } from './validate.ts';
