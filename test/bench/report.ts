import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One figure beside the baseline measured in the same run (DESIGN §10). */
export interface BenchResult {
  metric: string;
  value: number;
  unit: string;
  baseline: string | null;
  baseline_value: number | null;
  ratio: number | null;
  /** What the issue asks of this figure, e.g. ">= 0.6 x baseline" (informational; benches never fail CI). */
  target?: string;
  note?: string;
}

export const RESULTS_DIR = join(import.meta.dirname, 'results');

export function result(
  metric: string,
  value: number,
  unit: string,
  baseline?: { name: string; value: number },
  extra?: { target?: string; note?: string },
): BenchResult {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    metric,
    value: round(value),
    unit,
    baseline: baseline?.name ?? null,
    baseline_value: baseline ? round(baseline.value) : null,
    ratio: baseline && baseline.value !== 0 ? round(value / baseline.value) : null,
    ...extra,
  };
}

export function writeSuite(suite: string, results: BenchResult[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${suite}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

export function printTable(all: { suite: string; results: BenchResult[] }[]): void {
  const rows = all.flatMap(({ suite, results }) =>
    results.map((r) => [
      suite,
      r.metric,
      `${r.value} ${r.unit}`,
      r.baseline ? `${r.baseline} = ${r.baseline_value}` : '-',
      r.ratio === null ? '-' : `${r.ratio}`,
      r.target ?? '',
    ]),
  );
  const head = ['suite', 'metric', 'value', 'baseline', 'ratio', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
