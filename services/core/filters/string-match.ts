import type { CloudEvent } from '../cloudevent.ts';
import { attributeText } from './attribute.ts';
import type { Predicate } from './types.ts';

/**
 * Shared body of the exact / prefix / suffix dialects: every attribute of the map must be present and its string
 * form must pass `test`. As in Knative, a map with an empty attribute name or an empty value is not a filter at
 * all (Knative refuses to build it and skips it), so it matches every event.
 */
export function attributeMapPredicate(
  map: Readonly<Record<string, string>>,
  test: (value: string, wanted: string) => boolean,
): Predicate {
  const entries = Object.entries(map);
  if (entries.length === 0 || entries.some(([k, v]) => k === '' || v === '')) return null;
  if (entries.length === 1) {
    const [name, wanted] = entries[0]!;
    return (event: CloudEvent) => {
      const value = attributeText(event.attributes, name);
      return value !== undefined && test(value, wanted);
    };
  }
  return (event: CloudEvent) =>
    entries.every(([name, wanted]) => {
      const value = attributeText(event.attributes, name);
      return value !== undefined && test(value, wanted);
    });
}
