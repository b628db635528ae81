import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { type CeAttributes, type CloudEvent, isJsonContentType, makeEvent } from '../core/cloudevent.ts';
import { encodeBinary, encodeStructured } from '../core/http/codec.ts';
import { validateAttributes } from '../core/http/validate.ts';
import { CliError, UsageError } from './errors.ts';

/** Flags of `send` that shape the event. */
export interface SendEventOptions {
  type: string;
  source: string;
  /** @defaultValue a random UUID */
  id?: string;
  subject?: string;
  /** RFC 3339 time. @defaultValue now */
  time?: string;
  /** Data as given on the command line (sent byte for byte). */
  data?: string;
  /** File whose bytes are the data. */
  dataFile?: string;
  /** @defaultValue application/json when the data parses as JSON (or the file ends in .json), else text/plain / application/octet-stream */
  contentType?: string;
  /** Extension attributes as `name=value`. */
  ext?: string[];
}

const CORE_FLAGS = new Set(['specversion', 'id', 'source', 'type', 'datacontenttype', 'dataschema', 'subject', 'time']);

/** Parses `--ext k=v` pairs; names must be CloudEvents extension names (lower-case a-z, 0-9). */
export function parseExtensions(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--ext ${JSON.stringify(pair)}: expected name=value`);
    const name = pair.slice(0, eq);
    if (!/^[a-z0-9]+$/.test(name)) {
      throw new UsageError(`--ext ${name}: extension names are lower-case letters and digits only (CloudEvents spec)`);
    }
    if (CORE_FLAGS.has(name)) throw new UsageError(`--ext ${name}: that is a core attribute; use its own flag`);
    out[name] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * Builds the CloudEvent `send` posts. Data is kept as the exact bytes given; `warn` is told when a content type
 * had to be guessed.
 * @throws UsageError on conflicting or invalid flags, or an event the CloudEvents spec rejects.
 */
export async function buildSendEvent(
  opts: SendEventOptions,
  cwd: string,
  warn: (line: string) => void,
): Promise<CloudEvent> {
  if (opts.data !== undefined && opts.dataFile !== undefined)
    throw new UsageError('pass --data or --data-file, not both');
  let data: Buffer | undefined;
  let contentType = opts.contentType;
  if (opts.data !== undefined) {
    data = Buffer.from(opts.data, 'utf8');
    let json = true;
    try {
      JSON.parse(opts.data);
    } catch {
      json = false;
    }
    if (contentType === undefined) {
      contentType = json ? 'application/json' : 'text/plain; charset=utf-8';
      if (!json) warn('--data is not valid JSON; sending it as text/plain (set --content-type to choose)');
    } else if (isJsonContentType(contentType) && !json) {
      throw new UsageError(`--data is not valid JSON but --content-type is ${contentType}`);
    }
  } else if (opts.dataFile !== undefined) {
    try {
      data = await readFile(resolve(cwd, opts.dataFile));
    } catch (err) {
      throw new UsageError(`--data-file ${opts.dataFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    contentType ??= extname(opts.dataFile).toLowerCase() === '.json' ? 'application/json' : 'application/octet-stream';
  }
  const attributes: Omit<CeAttributes, 'specversion'> = {
    id: opts.id ?? randomUUID(),
    source: opts.source,
    type: opts.type,
    time: opts.time ?? new Date().toISOString(),
    ...parseExtensions(opts.ext ?? []),
  };
  if (opts.subject !== undefined) attributes.subject = opts.subject;
  if (data !== undefined && contentType !== undefined) attributes.datacontenttype = contentType;
  const event = makeEvent(attributes, data);
  try {
    validateAttributes(event.attributes);
  } catch (err) {
    throw new UsageError(`not a valid CloudEvent: ${err instanceof Error ? err.message : String(err)}`);
  }
  return event;
}

/** Broker URL for `--broker ns/name` (or `name` in the current namespace). */
export function brokerUrl(ingress: string, broker: string | undefined, namespace: string): string {
  const spec = broker ?? `${namespace}/default`;
  const parts = spec.split('/');
  if (parts.length > 2 || parts.some((p) => p === ''))
    throw new UsageError(`--broker ${JSON.stringify(spec)}: expected namespace/name or name`);
  const [ns, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [namespace, parts[0]!];
  return `${ingress.replace(/\/+$/, '')}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
}

/** Result of posting an event: HTTP status and the body (the ingress says why on rejections). */
export interface SendResult {
  status: number;
  statusText: string;
  body: string;
}

/** POSTs one event in binary (default) or structured mode. */
export async function postEvent(
  url: string,
  event: CloudEvent,
  options: { structured?: boolean; token?: string; timeoutMs?: number } = {},
): Promise<SendResult> {
  const encoded = options.structured ? encodeStructured(event) : encodeBinary(event);
  const headers: Record<string, string> = { ...encoded.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers,
      body: encoded.body === undefined ? undefined : new Uint8Array(encoded.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    throw new CliError(
      `cannot reach the broker ingress at ${new URL(url).origin}${code ? ` (${code})` : ''} — is \`elastic-serving up\` running?`,
      { cause: err },
    );
  }
  return { status: res.status, statusText: res.statusText, body: await res.text() };
}
