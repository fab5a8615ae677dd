import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { cacheDir, createUser, startTestHub, type TestHub } from './helpers.js';

// Property-based fuzzing of the whole REST API from its own OpenAPI document:
// no input may produce a 500, and every answer must match what the document
// promises (status codes, content types, response schemas). `npm test`
// installs schemathesis (PyPI) into the per-user cache (scripts/test.sh).
const schemathesis = path.join(cacheDir, 'fuzz-venv-4.32.5', 'bin', 'schemathesis');

// Each route is fuzzed as each kind of caller: what a member or a team admin
// may reach (their own team's datasets, models, requests) runs other code
// than the platform admin's paths. Least privileged first, so the admin's
// deletions come last. The coverage phase (boundary values of every schema)
// exercises request validation, which is the same for every caller: it runs
// once, as the admin, who passes the most authorization checks to reach it.
const ALL_PHASES = 'examples,coverage,fuzzing,stateful';
const callers = [
  { who: 'a team member', name: 'fuzz-member', options: { teams: [{ team: 'sales-finance', role: 'member' as const }] }, phases: 'examples,fuzzing,stateful' },
  { who: 'a team admin', name: 'fuzz-lead', options: { teams: [{ team: 'sales-finance', role: 'team-admin' as const }] }, phases: 'examples,fuzzing,stateful' },
  { who: 'a platform admin', name: 'fuzzer', options: { platformAdmin: true }, phases: ALL_PHASES },
];

let t: TestHub;
const tokens = new Map<string, string>();
before(async () => {
  t = await startTestHub({ workspaces: { maxRunningPerUser: 1 } });
  // Real teams and datasets, so the routes are fuzzed past "no such team" and "no such dataset".
  await seedDemo(t.hub.deps.store);
  for (const c of callers) tokens.set(c.name, await createUser(t.hub, c.name, c.options));
  await seedDemoData(t.hub.data);
});
after(async () => t.close({ stopServers: true }));

/** Run a command without blocking the event loop: the hub under test lives in this process. */
function run(command: string, args: string[], timeoutMs: number): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/** schemathesis' report of what failed or broke (request, answer, how to reproduce), else the end of its output. */
function failuresIn(output: string): string {
  const sections = ['FAILURES', 'ERRORS'].flatMap((title) => {
    const start = output.search(new RegExp(`^=+ ${title} =+$`, 'm'));
    if (start < 0) return [];
    // Up to the next section (warnings or the summary).
    const body = output.indexOf('\n', start) + 1;
    const next = output.slice(body).search(/^=+ [A-Z][A-Za-z ]+ =+$/m);
    return [output.slice(start, next >= 0 ? body + next : undefined).slice(0, 8_000)];
  });
  return sections.length > 0 ? sections.join('\n') : output.slice(-4000);
}

const skip = !existsSync(schemathesis) && !process.env.CI && 'schemathesis not installed (npm test installs it)';
for (const caller of callers) {
  test(`schemathesis as ${caller.who} finds no server error and no contract violation`, { skip, timeout: 30 * 60_000 }, async () => {
    assert.ok(existsSync(schemathesis), 'schemathesis is installed by scripts/test.sh');
    const { status, output } = await run(
      schemathesis,
      [
        'run',
        `${t.url}/hub/api/openapi.json`,
        '--url',
        t.url,
        '-H',
        `Authorization: token ${tokens.get(caller.name)}`,
        // Every check, not_a_server_error (no 5xx) among them.
        '--checks',
        'all',
        // Requests valid by schema can still break business rules (unknown
        // image, user or team → 400/404/409); that is correct behaviour.
        '--exclude-checks',
        'positive_data_acceptance',
        '--phases',
        caller.phases,
        '--max-examples',
        '50',
        // Two workers: generating inputs and waiting for answers overlap (about 1.5× faster on 2 cores).
        '--workers',
        '2',
        // The progress stream is an open-ended text/event-stream; starting real
        // workspaces is covered by workspaces.test.ts.
        '--exclude-path-regex',
        'progress',
        '--seed',
        '1',
      ],
      20 * 60_000,
    );
    assert.equal(status, 0, failuresIn(output));
    assert.match(output, /(\d+) generated, \1 passed/);
    // Where the time goes, in the test log: phase durations and the count of cases.
    for (const line of output.split('\n')) if (/\((in [\d.]+s)\)|generated, /.test(line)) console.log(`# ${caller.who}: ${line.trim()}`);
  });
}
