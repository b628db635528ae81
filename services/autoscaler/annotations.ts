import { parseGoDurationMs } from './go-duration.ts';
import type { ScalingMetric } from './types.ts';

const PREFIX = 'autoscaling.knative.dev/';

/** What the Knative autoscaling annotations of a Function may set. */
export interface AnnotationOverrides {
  minScale?: number;
  maxScale?: number;
  initialScale?: number;
  activationScale?: number;
  target?: number;
  /** A fraction (the annotation is a percentage). */
  targetUtilization?: number;
  metric?: ScalingMetric;
  stableWindowMs?: number;
  panicWindowPercentage?: number;
  /** A ratio (the annotation is a percentage: 200 → 2). */
  panicThreshold?: number;
  scaleDownDelayMs?: number;
}

export interface AnnotationIssue {
  /** The annotation, e.g. `autoscaling.knative.dev/window`. */
  annotation: string;
  message: string;
}

type Parsed = { value: number | string } | { problem: string };
type Rule = { field: keyof AnnotationOverrides; parse: (text: string) => Parsed };

const integer = (min: number): Rule['parse'] => {
  return (text) => {
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    return Number.isSafeInteger(n) && n >= min ? { value: n } : { problem: `must be an integer >= ${min}` };
  };
};

const decimal = (min: number, max: number, scale = 1): Rule['parse'] => {
  return (text) => {
    const n = /^\d*\.?\d+$/.test(text) ? Number(text) : Number.NaN;
    return n >= min && n <= max ? { value: n * scale } : { problem: `must be a number between ${min} and ${max}` };
  };
};

const duration = (minMs: number, maxMs: number, range: string): Rule['parse'] => {
  return (text) => {
    const ms = parseGoDurationMs(text);
    if (ms === undefined) return { problem: 'must be a duration such as 60s, 1m30s or 500ms' };
    return ms >= minMs && ms <= maxMs ? { value: ms } : { problem: `must be between ${range}` };
  };
};

/** The annotations Knative Serving's KPA reads, with Knative's bounds. */
const RULES: Record<string, Rule> = {
  'min-scale': { field: 'minScale', parse: integer(0) },
  'max-scale': { field: 'maxScale', parse: integer(0) },
  'initial-scale': { field: 'initialScale', parse: integer(0) },
  'activation-scale': { field: 'activationScale', parse: integer(1) },
  target: { field: 'target', parse: decimal(0.01, Number.MAX_SAFE_INTEGER) },
  'target-utilization-percentage': { field: 'targetUtilization', parse: decimal(1, 100, 0.01) },
  metric: {
    field: 'metric',
    parse: (text) =>
      text === 'concurrency' || text === 'rps'
        ? { value: text }
        : { problem: 'must be concurrency or rps (cpu and memory need the HPA class, which is not supported)' },
  },
  window: { field: 'stableWindowMs', parse: duration(6_000, 3_600_000, '6s and 1h') },
  'panic-window-percentage': { field: 'panicWindowPercentage', parse: decimal(1, 100) },
  'panic-threshold-percentage': { field: 'panicThreshold', parse: decimal(110, 1000, 0.01) },
  'scale-down-delay': { field: 'scaleDownDelayMs', parse: duration(0, 3_600_000, '0s and 1h') },
};

/** Knative's older camel-case spellings; the kebab-case name wins when both are set. */
const ALIASES: Record<string, string> = {
  minScale: 'min-scale',
  maxScale: 'max-scale',
  initialScale: 'initial-scale',
  targetUtilizationPercentage: 'target-utilization-percentage',
  panicWindowPercentage: 'panic-window-percentage',
  panicThresholdPercentage: 'panic-threshold-percentage',
};

/** The full annotation name of a rule, e.g. `annotationName('window')` → `autoscaling.knative.dev/window`. */
export function annotationName(short: string): string {
  return PREFIX + short;
}

/**
 * Reads the `autoscaling.knative.dev/*` annotations. Unknown names under the prefix (e.g. `class`) are ignored, as
 * are other prefixes; every bad value is reported with its annotation name.
 */
export function parseScalingAnnotations(annotations: Readonly<Record<string, string>> = {}): {
  overrides: AnnotationOverrides;
  issues: AnnotationIssue[];
} {
  const chosen = new Map<string, string>();
  for (const key of Object.keys(annotations)) {
    if (!key.startsWith(PREFIX)) continue;
    const short = key.slice(PREFIX.length);
    const canonical = ALIASES[short] ?? short;
    if (RULES[canonical] === undefined) continue;
    if (canonical !== short && chosen.has(canonical)) continue;
    chosen.set(canonical, key);
  }
  const overrides: Record<string, number | string> = {};
  const issues: AnnotationIssue[] = [];
  for (const [canonical, key] of chosen) {
    const rule = RULES[canonical] as Rule;
    const text = (annotations[key] ?? '').trim();
    const parsed = rule.parse(text);
    if ('problem' in parsed) issues.push({ annotation: key, message: `${JSON.stringify(text)} ${parsed.problem}` });
    else overrides[rule.field] = parsed.value;
  }
  return { overrides: overrides as AnnotationOverrides, issues };
}
