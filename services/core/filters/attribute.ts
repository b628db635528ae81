import { attributeString, type CeAttributes } from '../cloudevent.ts';

/** Attribute names Knative accepts in filters: lower-case alphanumerics starting with a letter. */
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;

/**
 * The attribute's value in its string form, or `undefined` when absent. Only own string/number/boolean values
 * count, so a name like `constructor` never reads an inherited object member.
 */
export function attributeText(attrs: CeAttributes, name: string): string | undefined {
  const v = attrs[name];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return attributeString(v);
  return undefined;
}
