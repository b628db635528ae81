import type { CeAttributes, CeAttributeValue, CloudEvent } from '../cloudevent.ts';

/** Test helper: an event with the required attributes plus `extra` (`undefined` removes one). */
export function testEvent(extra: Record<string, CeAttributeValue | undefined> = {}): CloudEvent {
  const attributes: Record<string, CeAttributeValue> = { specversion: '1.0', id: 'e-1', source: '/src', type: 'demo' };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete attributes[k];
    else attributes[k] = v;
  }
  return { attributes: attributes as CeAttributes };
}
