import { Agent, request } from 'undici';
import type { CloudEvent } from '../cloudevent.ts';
import { claimsCloudEvent, encodeBinary, parseHttpEvent } from './codec.ts';
import type { AttemptResult } from '../delivery/index.ts';

/** One keep-alive pool per origin, shared by every trigger: deliveries are the router's hot path. */
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

/** What a successful delivery answered: the reply event when the 200 carried one. */
export interface SendResult extends AttemptResult {
  reply?: CloudEvent;
}

/**
 * Sends one event in binary mode with `Prefer: reply`. A 200 that claims to be a CloudEvent but is not a valid one
 * throws, so the delivery counts as a failed attempt (and is retried), as DESIGN §6 says.
 */
export async function sendEvent(
  url: string,
  event: CloudEvent,
  signal: AbortSignal,
  extraHeaders?: Record<string, string>,
): Promise<SendResult> {
  const { headers, body } = encodeBinary(event);
  headers.prefer = 'reply';
  if (extraHeaders) Object.assign(headers, extraHeaders);
  const res = await request(url, { method: 'POST', headers, body, signal, dispatcher: agent });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  const result: SendResult = { status: res.statusCode, headers: res.headers, body: bytes };
  if (res.statusCode === 200 && claimsCloudEvent(res.headers)) {
    try {
      result.reply = parseHttpEvent(res.headers, bytes);
    } catch (err) {
      throw new Error(`subscriber answered 200 with an invalid CloudEvent: ${(err as Error).message}`, { cause: err });
    }
  }
  return result;
}

export async function closeSender(): Promise<void> {
  await agent.close();
}
