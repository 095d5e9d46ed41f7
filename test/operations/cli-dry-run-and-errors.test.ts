// `bakeoff dry-run` as CI uses it — exit code = gate verdict (0 pass, 1 a gate failed, 2 inconclusive),
// a JSON report whose path is printed, the pointer never touched — and the CLI's error paths: unknown
// workflow id, unreachable server, bad settings, bad input files, unknown commands. Each error is one
// line on stderr and a non-zero exit, never a stack trace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../../src/platform/ports';
import { HEALTHY, type FixtureDataPlane, type FixtureScript } from '../fixtures/data-plane';
import { bakeoffInProcess, bakeoffProcess } from '../support/cli';
import { createLane, createOpsRig, pointerActions, waitForStatus, writeInputFile, type OpsRig } from './rig';

let rig: OpsRig;
let plane: FixtureDataPlane;

beforeAll(async () => {
  rig = await createOpsRig('dry');
  await createLane(rig.db, 'dry');
  plane = await rig.startWorker(HEALTHY);
});
afterAll(async () => {
  await rig?.close();
});

const dryInput = (name: string) => writeInputFile(rig.home, name, 'dry', `v450_${name}`, { dryRunSoak: '1s' });

function expectOneCleanLine(stderr: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
}

test('dry run, every gate passes: exit 0, gate table, JSON report, pointer untouched', async () => {
  plane.script = HEALTHY;
  const r = await bakeoffProcess(['dry-run', '--config', dryInput('dry_pass')], rig.env, 90_000);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^hit_rate\s+offline\s+0\.630\s+0\.550\s+0\.600 … 0\.700\s+PASS/m);
  expect(r.stdout).toContain('verdict: PASS — every gate passed (exit 0)');
  const reportPath = /^report: (.+)$/m.exec(r.stdout)![1];
  expect(reportPath.startsWith(path.join(rig.home, 'reports', 'dry-run-bakeoff-dryrun-dry-'))).toBe(true);
  const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
  expect(report).toMatchObject({ outcome: 'dry-run-passed', verdict: 'pass', exitCode: 0 });
  expect(report.gates.map((g: { name: string }) => g.name)).toEqual(expect.arrayContaining(['hit_rate', 'f1', 'precision', 'p95_total_ms']));
  expect(report.status.dryRun).toBe(true);
  // progress went to stderr, so stdout stays the table and the report path
  expect(r.stderr).toMatch(/dry run bakeoff-dryrun-dry-\S+ started/);
  expect(r.stderr).toContain('dry run: no backup (nothing will change)');
  expect(await pointerActions(rig.db, 'dry')).toEqual(['init']);
});

test('dry run with a failed gate exits 1; an inconclusive one exits 2', async () => {
  const failing: FixtureScript = { ...HEALTHY, candidate: { ...HEALTHY.candidate, f1: 0.5 } };
  plane.script = failing;
  const report = path.join(rig.home, 'fail-report.json');
  const failed = await bakeoffInProcess(['dry-run', '--config', dryInput('dry_fail'), '--report', report], rig.env);
  expect(failed.code).toBe(1);
  expect(failed.stdout).toMatch(/^f1\s+offline\s+0\.500\s+0\.600\s+≥ 0\.600\s+FAIL/m);
  expect(failed.stdout).toContain('verdict: FAIL — a gate failed (exit 1)');
  expect(failed.stdout).toContain(`report: ${report}`);
  expect(JSON.parse(fs.readFileSync(report, 'utf8'))).toMatchObject({ verdict: 'fail', exitCode: 1, outcome: 'dry-run-failed' });

  plane.script = { ...HEALTHY, candidate: { ...HEALTHY.candidate, hit_rate: 0.75 } };
  const inconclusive = await bakeoffInProcess(['dry-run', '--config', dryInput('dry_inc'), '--json'], rig.env);
  expect(inconclusive.code).toBe(2);
  const json = JSON.parse(inconclusive.stdout.replace(/\nreport: .*$/, ''));
  expect(json).toMatchObject({ verdict: 'inconclusive', exitCode: 2 });
  expect(json.gates.find((g: { name: string }) => g.name === 'hit_rate').verdict).toBe('inconclusive');
  expect(await pointerActions(rig.db, 'dry')).toEqual(['init']);
});

test('status --watch redraws until the bakeoff ends', async () => {
  plane.script = HEALTHY;
  const id = `bakeoff-dryrun-watch-${Date.now()}`;
  const dry = bakeoffInProcess(['dry-run', '--config', writeInputFile(rig.home, 'watch', 'dry', 'v450_watch', { dryRunSoak: '2s' }), '--workflow-id', id], rig.env);
  await waitForStatus(rig.client, id, () => true);
  const watched = await bakeoffInProcess(['status', id, '--watch', '1', '--events', '0'], rig.env);
  expect(watched.code).toBe(0);
  const frames = watched.stdout.split(`\n${'─'.repeat(72)}\n`);
  expect(frames.length).toBeGreaterThanOrEqual(3); // at least a few seconds of a running dry run, one frame a second
  for (const f of frames) expect(f).toMatch(/^Bakeoff\s+bakeoff-dryrun-watch-/);
  expect(frames[frames.length - 1]).toMatch(/^Phase\s+done {2}\[DRY RUN\]$/m);
  expect((await dry).code).toBe(0);
});

test('unknown workflow id: one line naming the id, the address and the namespace', async () => {
  for (const args of [['status', 'bakeoff-nope'], ['rollback', 'bakeoff-nope', '--reason', 'x'], ['pause', 'bakeoff-nope', '--wait']]) {
    const r = await bakeoffProcess(args, rig.env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`bakeoff: no bakeoff with id bakeoff-nope on ${rig.address} (namespace default)`);
  }
});

test('unreachable server: one line with the address tried, within the connect timeout', async () => {
  const port = await freePort();
  const t0 = Date.now();
  const r = await bakeoffProcess(['--address', `127.0.0.1:${port}`, 'status', 'bakeoff-x'], rig.env);
  expect(Date.now() - t0).toBeLessThan(20_000);
  expect(r.code).toBe(2);
  expectOneCleanLine(r.stderr);
  expect(r.stderr.trim()).toBe(
    `bakeoff: cannot reach the Temporal server at 127.0.0.1:${port}: is it running? (\`bakeoff server start\` starts a local one; TEMPORAL_ADDRESS or --address points elsewhere)`,
  );
  // the same through TEMPORAL_ADDRESS, for a signal
  const s = await bakeoffInProcess(['rollback', 'bakeoff-x', '--reason', 'r'], { ...rig.env, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
  expect(s.code).toBe(2);
  expect(s.stderr).toContain(`cannot reach the Temporal server at 127.0.0.1:${port}`);
});

test('bad settings, bad files, bad flags and unknown commands: one line each, exit 2', async () => {
  const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; stderr: string }> = [
    { args: ['status', 'x'], env: { TEMPORAL_ADDRESS: 'localhost' }, stderr: 'bakeoff: invalid Temporal settings:\nTEMPORAL_ADDRESS: must be host:port, e.g. 127.0.0.1:7233' },
    { args: ['--address', 'nope', 'status', 'x'], stderr: 'bakeoff: --address "nope": must be host:port, e.g. 127.0.0.1:7233' },
    { args: ['frobnicate'], stderr: "bakeoff: unknown command 'frobnicate' (see bakeoff --help)" },
    { args: ['start', '--config', path.join(rig.home, 'missing.yaml')], stderr: `bakeoff: cannot read ${path.join(rig.home, 'missing.yaml')}: no such file` },
    { args: ['start', '--config', dryInput('ramp_bad'), '--ramp', '10:forever'], stderr: "bakeoff: --ramp: 'forever' is not a duration: use a number with a unit, e.g. '30s', '5m', '16h', '1h30m'" },
    { args: ['start'], stderr: 'bakeoff: no candidate config: give --config <file> (JSON or YAML) or the candidate flags (--chunk-size, --overlap, --jaccard, --prefix-policy, --chunk-version)' },
    { args: ['list', '--phase', 'canry'], stderr: 'bakeoff: --phase "canry": must be one of locking, backing-up, ingesting, evaluating, probing, gating, shadow, canary, awaiting-operator, promoting, rolling-back, done, rolled-back, failed' },
    { args: ['status', 'x', '--watch', '0'], stderr: 'bakeoff: --watch "0": must be a positive number' },
  ];
  const broken = path.join(rig.home, 'broken.yaml');
  fs.writeFileSync(broken, 'candidate:\n  chunk_size: [450\n');
  cases.push({ args: ['start', '--config', broken], stderr: `bakeoff: ${broken}: not valid YAML (line 3, column 1): Flow sequence in block collection must be sufficiently indented and end with a ]` });
  const flagOnly = await bakeoffInProcess(['start', '--chunk-size', '2000', '--overlap', '0.1', '--jaccard', '0.8', '--prefix-policy', 'A', '--chunk-version', 'v2000'], rig.env);
  expect(flagOnly.code).toBe(2);
  expect(flagOnly.stderr).toBe('bakeoff: invalid bakeoff input:\n  candidate.chunk_size: chunk_size 2000 exceeds the cap of 1000 tokens');
  for (const c of cases) {
    const r = await bakeoffInProcess(c.args, { ...rig.env, ...c.env });
    expect({ args: c.args, code: r.code, stderr: r.stderr }).toEqual({ args: c.args, code: 2, stderr: c.stderr });
  }
  // and as a real process: the exit code reaches the shell
  const p = await bakeoffProcess(['frobnicate'], rig.env);
  expect(p.code).toBe(2);
  expectOneCleanLine(p.stderr);
});
