// `npm run bench [-- <suite> ...]`: runs the benchmark suites, writes test/bench/results/<suite>.json as each
// finishes, and prints JSON and a table at the end. Benchmarks inform; they never fail CI.
import { Command } from 'commander';
import { type BenchResult, printTable, writeSuite } from './report.ts';
import { channelsSuite } from './suites/channels.ts';
import { codecSuite } from './suites/codec.ts';
import { inferenceSuite } from './suites/inference.ts';
import { platformSuite } from './suites/platform.ts';
import { scalingSuite } from './suites/scaling.ts';

export interface Suite {
  name: string;
  description: string;
  /** Why the suite cannot run here (an engine is not reachable), or undefined when it can. */
  unavailable?(): Promise<string | undefined>;
  run(log: (msg: string) => void): Promise<BenchResult[]>;
}

const suites: Suite[] = [codecSuite, platformSuite, channelsSuite, scalingSuite, inferenceSuite];

const program = new Command('bench')
  .description(
    `Runs elastic-serving's benchmarks (method: DESIGN §10).\nSuites: ${suites.map((s) => `${s.name} (${s.description})`).join('; ')}`,
  )
  .argument('[suites...]', 'suites to run (default: every suite whose engines are reachable)')
  .action(async (names: string[]) => {
    const unknown = names.filter((n) => !suites.some((s) => s.name === n));
    if (unknown.length) program.error(`unknown suite(s): ${unknown.join(', ')}`, { exitCode: 2 });
    const chosen = names.length ? suites.filter((s) => names.includes(s.name)) : suites;
    const done: { suite: string; results: BenchResult[] }[] = [];
    for (const suite of chosen) {
      const why = await suite.unavailable?.();
      if (why) {
        console.log(`[bench] SKIPPED suite ${suite.name}: ${why}`);
        continue;
      }
      const started = Date.now();
      console.log(`[bench] suite ${suite.name}: ${suite.description}`);
      const results = await suite.run((msg) => console.log(`[bench] ${suite.name}: ${msg}`));
      const file = writeSuite(suite.name, results);
      console.log(`[bench] suite ${suite.name} done in ${Math.round((Date.now() - started) / 1000)} s → ${file}`);
      done.push({ suite: suite.name, results });
    }
    console.log(JSON.stringify(Object.fromEntries(done.map((d) => [d.suite, d.results])), null, 2));
    printTable(done);
  });

await program.parseAsync();
