// The CLI as a user runs it against `elastic-serving up`: all-or-nothing apply with field paths in the refusal,
// get/describe/delete in kubectl's shapes, send through the ingress, and --help on every command.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { startSubscriber } from '../support/subscriber.ts';
import { apply, broker, getObject, trigger, uniqueNames, waitCondition, waitTriggers } from './e2e-helpers.ts';

let platform: PlatformProcess;
const unique = uniqueNames('cli');

beforeAll(async () => {
  platform = await startPlatformProcess(['--no-demo', '--log-level', 'warn']);
}, 60_000);
afterAll(async () => {
  await platform?.stop();
});

describe('apply refuses a file with one invalid document and applies nothing from it', () => {
  const cases: { name: string; bad: (b: string, t: string) => string; path: RegExp }[] = [
    {
      name: 'a Trigger without subscriber',
      bad: (b, t) =>
        `apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: { name: ${t}, namespace: default }\nspec:\n  broker: ${b}\n`,
      path: /spec\.subscriber/,
    },
    {
      name: 'a Trigger with a CESQL syntax error',
      bad: (b, t) => trigger(t, b, 'http://127.0.0.1:9/x', '  filters: [ { cesql: "type = " } ]'),
      path: /spec\.filters\[0\]\.cesql/,
    },
    {
      name: 'a Trigger with a backoffDelay that is not ISO-8601',
      bad: (b, t) => trigger(t, b, 'http://127.0.0.1:9/x', '  delivery: { retry: 2, backoffDelay: "5 seconds" }'),
      path: /spec\.delivery\.backoffDelay/,
    },
    {
      name: 'a Trigger with an invalid legacy filter attribute name',
      bad: (b, t) => trigger(t, b, 'http://127.0.0.1:9/x', '  filter: { attributes: { Bad-Key: x } }'),
      path: /spec\.filter\.attributes/,
    },
  ];

  it.each(cases)('$name', async ({ bad, path }) => {
    const b = unique('b');
    const good = unique('t');
    const wrong = unique('t');
    // Valid documents before and after the bad one: none of them may land.
    const yaml = `${broker(b)}---\n${trigger(good, b, 'http://127.0.0.1:9/ok')}---\n${bad(b, wrong)}---\n${trigger(unique('t'), b, 'http://127.0.0.1:9/ok2')}`;
    const r = await platform.cli(['apply', '-f', '-'], yaml);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/nothing applied/);
    expect(r.stderr).toMatch(path);
    expect(r.stderr).toContain(wrong);
    expect(r.stdout).not.toMatch(/created/);
    expect(await getObject(platform, 'broker', b)).toBeUndefined();
    expect(await getObject(platform, 'trigger', good)).toBeUndefined();
    const listed = await platform.cli(['get', 'broker', b]);
    expect(listed.code).not.toBe(0);
    expect(listed.stderr).toMatch(new RegExp(`"${b}" not found`));
  });

  it('refuses broken YAML with its line and applies nothing', async () => {
    const b = unique('b');
    const r = await platform.cli(
      ['apply', '-f', '-'],
      `${broker(b)}---\napiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: x\n`,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/line \d+/);
    expect(await getObject(platform, 'broker', b)).toBeUndefined();
  });
});

describe('get, describe, delete, send', () => {
  it('shows brokers as YAML, triggers as a table, describes and deletes a trigger', async () => {
    const b = unique('b');
    const t = unique('t');
    await apply(
      platform,
      `${broker(b, '  delivery: { retry: 2, backoffDelay: PT0.1S }')}---\n${trigger(t, b, 'http://127.0.0.1:9/sub', '  filter: { attributes: { type: e2e.cli } }')}`,
    );
    await waitCondition(platform, 'broker', b);
    await waitTriggers(platform, [t]);

    const [yamlOut, table, described] = await Promise.all([
      platform.cli(['get', 'brokers', '-o', 'yaml']),
      platform.cli(['get', 'triggers']),
      platform.cli(['describe', 'trigger', t]),
    ]);
    expect(yamlOut.code, yamlOut.stderr).toBe(0);
    const list = parseYaml(yamlOut.stdout) as {
      items: { metadata: { name: string }; spec?: unknown; status: { address: { url: string } } }[];
    };
    const ours = list.items.find((i) => i.metadata.name === b);
    expect(ours?.status.address.url).toBe(`${platform.urls.ingress}/default/${b}`);
    expect(ours?.spec).toEqual({ delivery: { retry: 2, backoffDelay: 'PT0.1S' } });

    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^NAME\s+BROKER\s+SUBSCRIBER_URI\s+AGE\s+READY\s+REASON/);
    const row = rows.find((l) => l.startsWith(`${t} `));
    expect(row).toBeDefined();
    expect(row!.split(/\s+/)).toEqual(expect.arrayContaining([t, b, 'http://127.0.0.1:9/sub', 'True']));

    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(new RegExp(`Name:\\s+${t}`));
    expect(described.stdout).toMatch(/Kind:\s+Trigger/);
    expect(described.stdout).toMatch(/type: e2e\.cli/);
    expect(described.stdout).toMatch(/Ready\s+True\s+TriggerReady/);

    const del = await platform.cli(['delete', 'trigger', t]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toMatch(new RegExp(`trigger.* "${t}" deleted`));
    const [after, describedAfter, deleteAgain] = await Promise.all([
      platform.cli(['get', 'trigger', t]),
      platform.cli(['describe', 'trigger', t]),
      platform.cli(['delete', 'trigger', t]),
    ]);
    for (const r of [after, describedAfter, deleteAgain]) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`"${t}" not found in namespace "default"`));
    }
    const ignored = await platform.cli(['delete', 'trigger', t, '--ignore-not-found']);
    expect(ignored.code).toBe(0);
  });

  it('send publishes a CloudEvent that reaches a subscriber', async () => {
    const sub = await startSubscriber();
    const b = unique('b');
    const t = unique('t');
    await apply(
      platform,
      `${broker(b)}---\n${trigger(t, b, sub.url, '  filter: { attributes: { type: e2e.cli.send } }')}`,
    );
    await waitCondition(platform, 'broker', b);
    await waitTriggers(platform, [t]);
    const r = await platform.cli([
      'send',
      '--type',
      'e2e.cli.send',
      '--source',
      '/e2e/cli',
      '--id',
      'cli-1',
      '--data',
      '{"from":"cli","n":2}',
      '--broker',
      `default/${b}`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/202/);
    const [got] = await sub.waitFor(1);
    expect(got!.headers['ce-type']).toBe('e2e.cli.send');
    expect(got!.headers['ce-source']).toBe('/e2e/cli');
    expect(got!.headers['ce-id']).toBe('cli-1');
    expect(got!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(got!.body.toString())).toEqual({ from: 'cli', n: 2 });

    const missing = await platform.cli([
      'send',
      '--type',
      'x',
      '--source',
      '/s',
      '--broker',
      `default/${unique('nope')}`,
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/404/);
    expect(missing.stderr).toMatch(/ES_ERR_BROKER_NOT_FOUND/);
    await sub.close();
  });
});

describe('--help', () => {
  it('every command answers --help with its usage and exit 0', async () => {
    const commands = ['apply', 'get', 'describe', 'delete', 'send', 'up'];
    const results = await Promise.all(commands.map((c) => platform.cli([c, '--help'])));
    results.forEach((r, i) => {
      expect(r.code, `${commands[i]}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: elastic-serving ${commands[i]}`));
      expect(r.stdout).toMatch(/Options:/);
      expect(r.stdout).toMatch(/-h, --help/);
    });
  });

  it('top-level --help lists every command', async () => {
    const r = await platform.cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['apply', 'get', 'describe', 'delete', 'send', 'up'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  // BUG (see report): output piped into a reader that closes early (`elastic-serving get triggers | head -1`)
  // crashes the CLI with an unhandled EPIPE stack trace instead of ending quietly.
  it('ends quietly when its output pipe is closed early (as with | head)', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'elastic-serving.mjs');
    const child = spawn(process.execPath, [bin, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader went away before the CLI wrote anything
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((r) => child.on('close', r));
    expect(stderr).not.toMatch(/EPIPE|Unhandled 'error' event/);
  });
});
