/** PingSource: cron-scheduled CloudEvents with Knative's `sources.knative.dev/v1` semantics. */

export {
  PING_EVENT_TYPE,
  type PingEmit,
  type PingSink,
  type PingSourceResource,
  PingSourceRunner,
  type PingSourceRunnerOptions,
  type PingSourceSpec,
  pingSourceKey,
  pingSourceSource,
} from './ping-source.ts';
export {
  checkSchedule,
  DEFAULT_SCHEDULE,
  DEFAULT_TIMEZONE,
  isValidTimezone,
  nextRuns,
  type ParsedSchedule,
  parseSchedule,
  type ScheduleProblem,
  splitTimezonePrefix,
} from './schedule.ts';
export { type PingSourceIssue, validatePingSourceSpec } from './validate.ts';
