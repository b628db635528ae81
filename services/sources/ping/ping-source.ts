import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import { type CloudEvent, makeEvent } from '../../core/cloudevent.ts';
import { abortableSleep } from '../../core/delivery/executor.ts';
import { InvalidResourceError } from '../../core/errors.ts';
import { cronOptions, DEFAULT_TIMEZONE, isValidTimezone, parseSchedule, splitTimezonePrefix } from './schedule.ts';
import { validatePingSourceSpec } from './validate.ts';

/** CloudEvent `type` of every ping (Knative's). */
export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

/** CloudEvent `source` of a PingSource's events (Knative's shape). */
export function pingSourceSource(namespace: string, name: string): string {
  return `/apis/v1/namespaces/${namespace}/pingsources/${name}`;
}

/** Key of a PingSource in the runner: `<namespace>/<name>`. */
export function pingSourceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** A Knative Destination; resolving it to a URL is the emitter's job. */
export interface PingSink {
  ref?: { kind: string; name: string; namespace?: string; apiVersion?: string };
  uri?: string;
}

/** `spec` of a PingSource (`sources.knative.dev/v1` and `sources.elastic-serving.dev/v1`). */
export interface PingSourceSpec {
  /** Cron expression: 5 fields, or 6 with seconds first; a `CRON_TZ=<zone> ` prefix is accepted. @defaultValue `* * * * *` */
  schedule?: string;
  /** IANA zone the schedule is read in. @defaultValue the runner's `defaultTimezone` (UTC) */
  timezone?: string;
  /** Event data as text, sent as is; exclusive with `dataBase64`. @defaultValue no data */
  data?: string;
  /** Event data as base64; the decoded bytes are sent. Exclusive with `data`. @defaultValue no data */
  dataBase64?: string;
  /** `datacontenttype` of the events. @defaultValue unset */
  contentType?: string;
  /** Where events go. */
  sink: PingSink;
  /** Extension attributes added to every event (Knative `CloudEventOverrides`). @defaultValue none */
  ceOverrides?: { extensions?: Record<string, string> };
}

/** A PingSource resource as the runner needs it. */
export interface PingSourceResource {
  metadata: { name: string; namespace?: string };
  spec: PingSourceSpec;
}

/**
 * Sends one event to the sink; rejects when it was not accepted (it is then retried). `signal` aborts when the
 * source is removed or the runner stops, so a long attempt can be cut short.
 */
export type PingEmit = (event: CloudEvent, sink: PingSink, signal: AbortSignal) => Promise<void>;

/** Options of {@link PingSourceRunner}. */
export interface PingSourceRunnerOptions {
  /** Sends each event (wired by the platform to the broker ingress or a delivery). */
  emit: PingEmit;
  /** Where failed sends and schedule changes are logged. */
  logger: Logger;
  /**
   * Retries after a failed first send; Knative's ping adapter retries 5 times so a tick is done within a minute.
   * @defaultValue 5
   */
  retry?: number;
  /** First backoff wait in ms, doubled on each retry. @defaultValue 50 */
  backoffDelayMs?: number;
  /** Zone for sources that name none. @defaultValue `UTC` */
  defaultTimezone?: string;
  /** Waits between retries; must resolve early when `signal` aborts. @defaultValue abortableSleep */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Makes event ids. @defaultValue crypto.randomUUID */
  newId?: () => string;
}

interface Job {
  fingerprint: string;
  cron: Cron;
  stop: AbortController;
  inFlight: Set<Promise<void>>;
}

/**
 * Runs one croner job per PingSource; each tick builds a fresh event (new id, `time` = the scheduled tick) and
 * sends it with a small exponential retry. A failed tick is logged and dropped, as in Knative: never thrown.
 */
export class PingSourceRunner {
  readonly #opts: Required<Omit<PingSourceRunnerOptions, 'logger' | 'emit'>> &
    Pick<PingSourceRunnerOptions, 'logger' | 'emit'>;
  readonly #jobs = new Map<string, Job>();

  constructor(options: PingSourceRunnerOptions) {
    this.#opts = {
      retry: 5,
      backoffDelayMs: 50,
      defaultTimezone: DEFAULT_TIMEZONE,
      sleep: abortableSleep,
      newId: randomUUID,
      ...options,
    };
    if (!isValidTimezone(this.#opts.defaultTimezone)) {
      throw new InvalidResourceError(
        `defaultTimezone: unknown time zone ${JSON.stringify(this.#opts.defaultTimezone)}`,
      );
    }
  }

  /**
   * Starts, replaces or keeps the job of a PingSource. An invalid spec throws `InvalidResourceError` (with the
   * issues) and leaves any running job of that source untouched.
   *
   * @returns what happened: `created`, `updated` (old job stopped, new one started) or `unchanged`
   */
  upsert(resource: PingSourceResource): 'created' | 'updated' | 'unchanged' {
    const { name } = resource.metadata;
    const namespace = resource.metadata.namespace || 'default';
    const key = pingSourceKey(namespace, name);
    const issues = validatePingSourceSpec(resource.spec);
    if (issues.length > 0) {
      throw new InvalidResourceError(
        `PingSource ${key}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        issues,
      );
    }
    const fingerprint = stableJson({ namespace, name, spec: resource.spec, tz: this.#opts.defaultTimezone });
    const existing = this.#jobs.get(key);
    if (existing?.fingerprint === fingerprint) return 'unchanged';

    // A snapshot, so later edits to the caller's object cannot change a running job behind its fingerprint.
    const spec = structuredClone(resource.spec);
    const prefixed = splitTimezonePrefix(spec.schedule ?? '').timezone !== undefined;
    const schedule = parseSchedule(
      spec.schedule ?? '',
      spec.timezone || (prefixed ? undefined : this.#opts.defaultTimezone),
    );
    const template = eventTemplate(namespace, name, spec);
    const stop = new AbortController();
    const inFlight = new Set<Promise<void>>();
    const cron = new Cron(schedule.pattern, cronOptions(schedule.timezone, false), (self: Cron) => {
      const now = Date.now();
      const tick = self.previousRuns(1, new Date(now + 1))[0] ?? new Date(now - (now % 1000));
      const sending = this.#send(key, stop.signal, template(this.#opts.newId(), tick), spec.sink);
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
    });
    const job: Job = { fingerprint, cron, stop, inFlight };
    if (existing) this.#stopJob(existing);
    this.#jobs.set(key, job);
    this.#opts.logger.info(
      { pingsource: key, schedule: schedule.pattern, timezone: schedule.timezone },
      existing ? 'pingsource updated' : 'pingsource scheduled',
    );
    return existing ? 'updated' : 'created';
  }

  /** Stops a source's job (and any retries of its ticks); returns whether it was running. */
  remove(key: string): boolean {
    const job = this.#jobs.get(key);
    if (!job) return false;
    this.#jobs.delete(key);
    this.#stopJob(job);
    this.#opts.logger.info({ pingsource: key }, 'pingsource removed');
    return true;
  }

  /** Stops every job, aborts pending retries, and waits for sends already in progress to settle. */
  async stopAll(): Promise<void> {
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    for (const job of jobs) this.#stopJob(job);
    await Promise.allSettled(jobs.flatMap((job) => [...job.inFlight]));
  }

  /** Keys (`<namespace>/<name>`) of the running sources. */
  keys(): string[] {
    return [...this.#jobs.keys()];
  }

  /** The next fire time of a running source, or `null`. */
  nextRun(key: string): Date | null {
    return this.#jobs.get(key)?.cron.nextRun() ?? null;
  }

  #stopJob(job: Job): void {
    job.cron.stop();
    job.stop.abort();
  }

  async #send(key: string, signal: AbortSignal, event: CloudEvent, sink: PingSink): Promise<void> {
    const { emit, logger, retry, backoffDelayMs, sleep } = this.#opts;
    const log = { pingsource: key, id: event.attributes.id, time: event.attributes.time };
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return;
      try {
        await Promise.resolve().then(() => emit(event, sink, signal));
        return;
      } catch (err) {
        if (signal.aborted || attempt > retry) {
          logger.error({ ...log, attempts: attempt, err }, 'pingsource event lost: send failed');
          return;
        }
        const delay = backoffDelayMs * 2 ** (attempt - 1);
        logger.warn({ ...log, attempt, retryInMs: delay, err }, 'pingsource send failed, retrying');
        await sleep(delay, signal);
      }
    }
  }
}

/**
 * The constant part of a source's events, built once per upsert: type, source, content type, extensions and
 * data bytes (`data` as UTF-8 text, `dataBase64` decoded, like Knative v1).
 */
function eventTemplate(namespace: string, name: string, spec: PingSourceSpec): (id: string, tick: Date) => CloudEvent {
  const data = spec.dataBase64
    ? Buffer.from(spec.dataBase64.replace(/[\r\n]/g, ''), 'base64')
    : spec.data
      ? Buffer.from(spec.data, 'utf8')
      : undefined;
  const source = pingSourceSource(namespace, name);
  const extensions = spec.ceOverrides?.extensions ?? {};
  return (id, tick) =>
    makeEvent(
      {
        ...extensions,
        id,
        source,
        type: PING_EVENT_TYPE,
        time: rfc3339(tick),
        ...(spec.contentType ? { datacontenttype: spec.contentType } : {}),
      },
      data === undefined ? undefined : Buffer.from(data),
    );
}

/** RFC 3339 in UTC, without a fraction when the instant is a whole second (every cron tick is). */
function rfc3339(date: Date): string {
  const iso = date.toISOString();
  return date.getUTCMilliseconds() === 0 ? iso.replace('.000Z', 'Z') : iso;
}

/** JSON with object keys sorted, so a re-read spec with reordered keys is recognised as unchanged. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
