import type { CloudEvent } from '../cloudevent.ts';
import { attributeText } from './attribute.ts';
import type { Predicate } from './types.ts';

/**
 * Legacy `spec.filter.attributes`: exact, case-sensitive, ANDed; `""` matches any value but the attribute must
 * be present (DESIGN §6). An empty map matches every event.
 */
export function legacyAttributesFilter(attributes: Readonly<Record<string, string>> | undefined): Predicate {
  const entries = Object.entries(attributes ?? {});
  if (entries.length === 0) return null;
  return (event: CloudEvent) => {
    for (const [name, wanted] of entries) {
      const value = attributeText(event.attributes, name);
      if (value === undefined || (wanted !== '' && value !== wanted)) return false;
    }
    return true;
  };
}
