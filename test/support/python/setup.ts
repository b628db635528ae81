// `npx tsx test/support/python/setup.ts [name…]`: builds the Python environments the tests and the bench use
// (test/support/python/envs.ts) up front, showing pip's progress, so no test spends its time installing packages.
// Tests build them on first use anyway; CI runs this before the suite.
import { PYTHON_ENVS, type PythonEnvName } from './envs.ts';
import { ensurePythonEnv } from './python-env.ts';

const asked = process.argv.slice(2);
if (asked.includes('--help') || asked.includes('-h')) {
  console.log(`usage: setup.ts [${Object.keys(PYTHON_ENVS).join('|')} …]  (default: all)`);
  process.exit(0);
}
const unknown = asked.filter((n) => !(n in PYTHON_ENVS));
if (unknown.length) {
  console.error(`unknown environment(s): ${unknown.join(', ')}; known: ${Object.keys(PYTHON_ENVS).join(', ')}`);
  process.exit(2);
}
const names = (asked.length ? asked : Object.keys(PYTHON_ENVS)) as PythonEnvName[];
for (const name of names) {
  const started = Date.now();
  console.log(`[python] ${name}: ${PYTHON_ENVS[name].join(' ')}`);
  const env = await ensurePythonEnv(name, PYTHON_ENVS[name]);
  console.log(`[python] ${name} ready in ${Math.round((Date.now() - started) / 1000)} s: ${env.python}`);
}
