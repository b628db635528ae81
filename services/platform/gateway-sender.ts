import { deliveryRequest, type EventSender, readAnswer } from '../core/http/sender.ts';
import type { Gateway } from '../runtime/gateway.ts';

/**
 * Delivers to a Function through the gateway in-process: the same replica balancing, containerConcurrency and
 * error answers as over HTTP, without parsing the request a second time.
 */
export function gatewaySender(gateway: Gateway) {
  return (namespace: string, name: string): EventSender =>
    async (event, signal) => {
      const { headers, body } = deliveryRequest(event);
      const res = await gateway.dispatch(namespace, name, { method: 'POST', path: '/', headers, body, signal });
      return readAnswer(res.statusCode, res.headers, res.body);
    };
}
