import type { Activator } from '../activator/activator.ts';
import { deliveryRequest, type EventSender, readAnswer } from '../core/http/sender.ts';

/**
 * Delivers to a Function through the activator in-process: the same buffering, balancing, containerConcurrency
 * and error answers as the gateway's HTTP face, without a second HTTP hop or parse. When the activator is out of
 * the path (target burst capacity), the request goes straight to a replica with a free slot.
 */
export function gatewaySender(activator: Pick<Activator, 'dispatch'>) {
  return (namespace: string, name: string): EventSender =>
    async (event, signal) => {
      const { headers, body } = deliveryRequest(event);
      const res = await activator.dispatch(namespace, name, { method: 'POST', path: '/', headers, body, signal });
      return readAnswer(res.statusCode, res.headers, res.body);
    };
}
