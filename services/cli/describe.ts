import { stringify } from 'yaml';
import type { ResourceObject } from './client.ts';
import { conditions, field, humanAge, isSecret, redact, renderTable, secretSizes } from './format.ts';

function indent(text: string, by: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

function keyValues(map: Record<string, string> | undefined): string {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return '<none>';
  return entries.map(([k, v], i) => `${i === 0 ? '' : ' '.repeat(14)}${k}=${v}`).join('\n');
}

/**
 * kubectl-describe-style summary: identity, address, spec (secret env values redacted), the rest of status,
 * and the conditions as a table. A Secret shows its type and each key's size, never a value.
 */
export function describeObject(object: ResourceObject, now: number = Date.now()): string {
  const shown = redact(object);
  const meta = shown.metadata;
  const address = field(shown, 'status.address.url') || field(shown, 'status.url');
  const lines = [
    `Name:         ${meta.name}`,
    `Namespace:    ${meta.namespace ?? ''}`,
    `Kind:         ${shown.kind} (${shown.apiVersion})`,
    `Labels:      ${' '}${keyValues(meta.labels)}`,
    `Annotations: ${' '}${keyValues(meta.annotations)}`,
    `Created:      ${meta.creationTimestamp ? `${meta.creationTimestamp} (${humanAge(meta.creationTimestamp, now)} ago)` : '<unknown>'}`,
  ];
  if (meta.resourceVersion) lines.push(`Version:      ${meta.resourceVersion}`);
  if (!isSecret(object)) lines.push(`Address:      ${address || '<none>'}`);
  const skipped = ['apiVersion', 'kind', 'metadata', 'status', ...(isSecret(object) ? ['data', 'stringData'] : [])];
  const rest = Object.fromEntries(Object.entries(shown).filter(([k]) => !skipped.includes(k)));
  if (isSecret(object)) {
    // Like kubectl: sizes only. Unlike kubectl, `get -o yaml` never shows the values either (format.ts).
    const sizes = secretSizes(object);
    lines.push(`Type:         ${typeof object.type === 'string' ? object.type : 'Opaque'}`);
    delete rest.type;
    lines.push(sizes.length === 0 ? 'Data:         <none>' : 'Data:');
    for (const [key, bytes] of sizes) lines.push(`  ${key}:  ${bytes} bytes`);
  }
  for (const [key, value] of Object.entries(rest)) {
    const title = key.charAt(0).toUpperCase() + key.slice(1);
    lines.push(`${title}:`, indent(stringify(value, { lineWidth: 0 }), '  '));
  }
  const { conditions: _c, address: _a, ...otherStatus } = shown.status ?? {};
  if (Object.keys(otherStatus).length > 0)
    lines.push('Status:', indent(stringify(otherStatus, { lineWidth: 0 }), '  '));
  const conds = conditions(shown);
  if (isSecret(object)) {
    // Nothing reconciles a Secret, so there are no conditions to wait for.
  } else if (conds.length === 0) lines.push('Conditions:   <none> (not reconciled yet)');
  else {
    const table = renderTable(
      ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
      conds.map((c) => [
        c.type,
        c.status,
        c.reason ?? '',
        c.lastTransitionTime ? humanAge(c.lastTransitionTime, now) : '',
        c.message ?? '',
      ]),
    );
    lines.push('Conditions:', indent(table, '  '));
  }
  return `${lines.join('\n')}\n`;
}
