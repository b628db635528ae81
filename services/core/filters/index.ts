// TEMPORARY lead shim so the platform runs while the filters helper finishes; replaced by the real module.
import { attributeString, type CloudEvent } from '../cloudevent.ts';

export interface Filter {
  match(event: CloudEvent): boolean;
}
export type SubscriptionsApiFilter = {
  exact?: Record<string, string>;
  prefix?: Record<string, string>;
  suffix?: Record<string, string>;
  all?: SubscriptionsApiFilter[];
  any?: SubscriptionsApiFilter[];
  not?: SubscriptionsApiFilter;
  cesql?: string;
};

function value(event: CloudEvent, name: string): string | undefined {
  const v = event.attributes[name];
  return v === undefined ? undefined : attributeString(v);
}

function compile(f: SubscriptionsApiFilter): (e: CloudEvent) => boolean {
  if (f.exact) return (e) => Object.entries(f.exact!).every(([k, v]) => value(e, k) === v);
  if (f.prefix) return (e) => Object.entries(f.prefix!).every(([k, v]) => value(e, k)?.startsWith(v) ?? false);
  if (f.suffix) return (e) => Object.entries(f.suffix!).every(([k, v]) => value(e, k)?.endsWith(v) ?? false);
  if (f.all) { const fs = f.all.map(compile); return (e) => fs.every((x) => x(e)); }
  if (f.any) { const fs = f.any.map(compile); return (e) => fs.length === 0 || fs.some((x) => x(e)); }
  if (f.not) { const x = compile(f.not); return (e) => !x(e); }
  return () => true;
}

export function compileTriggerFilter(spec: { filter?: { attributes?: Record<string, string> }; filters?: SubscriptionsApiFilter[] }): Filter {
  if (spec.filters && spec.filters.length > 0) {
    const fs = spec.filters.map(compile);
    return { match: (e) => fs.every((x) => x(e)) };
  }
  const attrs = Object.entries(spec.filter?.attributes ?? {});
  return { match: (e) => attrs.every(([k, v]) => { const got = value(e, k); return got !== undefined && (v === '' || got === v); }) };
}

export function validateTriggerFilter(_spec: unknown): { path: string; message: string }[] {
  return [];
}
