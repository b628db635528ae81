import { Agent, request } from 'undici';
import { type CloudEvent, EXT_BROKER_TTL } from '../cloudevent.ts';
import type { AttemptResult } from '../delivery/index.ts';
import { claimsCloudEvent, encodeBinary, type HttpHeaders, parseHttpEvent } from './codec.ts';

/** One keep-alive pool per origin, shared by every trigger and source: deliveries are the router's hot path. */
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

/** What a delivery answered: the reply event when a 200 carried one. */
export interface SendResult extends AttemptResult {
  reply?: CloudEvent;
}

/** Sends one event somewhere and reads the answer; rejects on network errors and invalid replies. */
export type EventSender = (event: CloudEvent, signal: AbortSignal) => Promise<SendResult>;

/**
 * The request a broker sends a subscriber: binary mode with `Prefer: reply`, without the broker's internal
 * `knativebrokerttl` (subscribers never see it, as in Knative).
 */
export function deliveryRequest(event: CloudEvent): { headers: Record<string, string>; body: Buffer | undefined } {
  const { headers, body } = encodeBinary(event, EXT_BROKER_TTL);
  headers.prefer = 'reply';
  return { headers, body };
}

/**
 * Reads a subscriber's answer. A 200 that claims to be a CloudEvent but is not a valid one throws, so the delivery
 * counts as a failed attempt (and is retried), as DESIGN §6 says; a 200 with any other body is a success without
 * a reply.
 */
export function readAnswer(status: number, headers: HttpHeaders, body: Buffer): SendResult {
  const result: SendResult = { status, headers, body };
  if (status === 200 && claimsCloudEvent(headers)) {
    try {
      result.reply = parseHttpEvent(headers, body);
    } catch (err) {
      throw new Error(`subscriber answered 200 with an invalid CloudEvent: ${(err as Error).message}`, { cause: err });
    }
  }
  return result;
}

/** Sends one event over HTTP to `url`. */
export async function sendEvent(url: string, event: CloudEvent, signal: AbortSignal): Promise<SendResult> {
  const { headers, body } = deliveryRequest(event);
  const res = await request(url, { method: 'POST', headers, body, signal, dispatcher: agent });
  return readAnswer(res.statusCode, res.headers, Buffer.from(await res.body.arrayBuffer()));
}

export function httpSender(url: string): EventSender {
  return (event, signal) => sendEvent(url, event, signal);
}
