// Issue 15 item 6, the small operator papercuts, each as a real process or against the real dev server:
// a closed stdout (`bakeoff … | head -1`) prints no EPIPE stack; the traffic replayer and the service
// answer --help; the service calibrates τ on the --sample the lane was ingested from; `bakeoff workers`
// tells a live worker from one that stopped polling (which `temporal task-queue describe` still lists).
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { loadDataset } from '../../src/data/dataset';
import { loadServeEnv, serveArgsToEnv, serveTrainCases } from '../../src/serve/main';
import { findTemporalCli } from '../../src/platform/temporal-dev-server';
import { HEALTHY } from '../fixtures/data-plane';
import { bakeoffBinDir, bakeoffProcess, run } from '../support/cli';
import { createOpsRig, type OpsRig } from './rig';

const repo = path.resolve(__dirname, '..', '..');
const tsNode = (script: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  run('node', ['-r', path.join(repo, 'test/support/ts-register.js'), path.join(repo, script), ...args], { env, timeoutMs: 60_000 });

test('a reader that goes away (`bakeoff --help | true`) gets no EPIPE stack, and the command keeps its exit code', async () => {
  // `true` exits before node has started, so every write the CLI makes meets a closed pipe.
  const r = await run('sh', ['-c', `"${path.join(bakeoffBinDir(), 'bakeoff')}" --help | true; echo "pipe-status $?"`], { env: process.env, timeoutMs: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('pipe-status 0\n');
  // a closed pipe on a command that fails still fails, with its one line on stderr
  const bad = await run('sh', ['-c', `"${path.join(bakeoffBinDir(), 'bakeoff')}" status 2>&1 >/dev/null | cat; "${path.join(bakeoffBinDir(), 'bakeoff')}" list --limit x | true`], { env: process.env, timeoutMs: 60_000 });
  expect(bad.stderr).toBe("bakeoff: --limit \"x\": must be a positive number\n");
  expect(bad.stdout).toMatch(/^bakeoff: missing required argument 'workflowId'/);
}, 90_000);

test('stdout closed while the CLI is still writing: the process ends quietly', async () => {
  const child = spawn(path.join(bakeoffBinDir(), 'bakeoff'), ['--help'], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(stderr).not.toContain('EPIPE');
  expect(code).toBe(0);
}, 60_000);

test('node dist/serve/traffic.js --help prints its usage; an unknown argument points to it', async () => {
  const help = await tsNode('src/serve/traffic.ts', ['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: node dist\/serve\/traffic\.js \[--url URL\] \[--rate 20\]/);
  expect(help.stdout).toContain('--split train|dev|all');
  const bad = await tsNode('src/serve/traffic.ts', ['--nope']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toBe('bakeoff traffic: unexpected argument "--nope"; use --name value (see --help)\n');
  // --sample N replays the questions of the lane's sample (here against a port nobody listens on)
  const sampled = await tsNode('src/serve/traffic.ts', ['--url', 'http://127.0.0.1:1', '--sample', '40', '--split', 'all', '--rate', '5', '--duration', '1', '--concurrency', '2']);
  expect(sampled.stderr).toBe('');
  const report = JSON.parse(sampled.stdout) as { sent: number; failed: number };
  expect(report.sent).toBeGreaterThan(0);
  expect(report.failed).toBe(report.sent);
  // without --url the replayer goes where the service listens: the same BAKEOFF_SERVE_PORT (step 10 exports one)
  let hits = 0;
  const listener = http.createServer((_req, res) => {
    hits++;
    res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    const port = (listener.address() as AddressInfo).port;
    const byEnv = await tsNode('src/serve/traffic.ts', ['--sample', '40', '--split', 'all', '--rate', '5', '--duration', '1', '--concurrency', '2'], { ...process.env, BAKEOFF_SERVE_PORT: String(port) });
    expect(byEnv.stderr).toBe('');
    expect(hits).toBe((JSON.parse(byEnv.stdout) as { sent: number }).sent);
    expect(hits).toBeGreaterThan(0);
  } finally {
    listener.close();
  }
  const serve = await tsNode('src/serve/main.ts', ['--help']);
  expect(serve.code).toBe(0);
  expect(serve.stdout).toMatch(/^usage: node dist\/serve\/main\.js \[--sample N\]/);
}, 120_000);

test('the service calibrates τ on the train cases of the --sample the lane came from, not the whole train split', async () => {
  expect(serveArgsToEnv(['--sample', '40'])).toEqual({ BAKEOFF_SERVE_SAMPLE: '40' });
  expect(serveArgsToEnv(['--sample=40'])).toEqual({ BAKEOFF_SERVE_SAMPLE: '40' });
  expect(() => serveArgsToEnv(['--port', '1'])).toThrow(/^unexpected argument "--port 1"; usage: node dist\/serve\/main\.js \[--sample N\]/);
  expect(loadServeEnv({ BAKEOFF_SERVE_SAMPLE: '40' }).BAKEOFF_SERVE_SAMPLE).toBe(40);
  expect(() => loadServeEnv({ BAKEOFF_SERVE_SAMPLE: '0' })).toThrow(/BAKEOFF_SERVE_SAMPLE must be at least 1/);

  const fullTrain = (await loadDataset(undefined, { split: 'train' })).cases;
  const sampled = await serveTrainCases(40);
  expect(sampled.length).toBeGreaterThan(0);
  expect(sampled.length).toBeLessThan(40);
  expect(sampled.every((c) => c.split === 'train')).toBe(true);
  expect(fullTrain.length).toBeGreaterThan(100);
  expect((await serveTrainCases(undefined)).length).toBe(fullTrain.length);
});

describe('bakeoff workers', () => {
  let rig: OpsRig;
  beforeAll(async () => {
    rig = await createOpsRig('workers');
  });
  afterAll(async () => {
    await rig?.close();
  });

  test('lists a live worker, and drops one that stopped polling while `temporal task-queue describe` still lists it', async () => {
    const none = await bakeoffProcess(['workers'], rig.env);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe(`no worker polled task queue '${rig.taskQueue}' (namespace default) in the last 70 s: start one with \`bakeoff worker\`\n`);

    await rig.startWorker(HEALTHY);
    await new Promise((r) => setTimeout(r, 1000));
    const live = await bakeoffProcess(['workers', '--json'], rig.env);
    expect(live.code).toBe(0);
    const seen = JSON.parse(live.stdout) as { up: boolean; pollers: Array<{ kind: string; lastPollAgoS: number }> };
    expect(seen.up).toBe(true);
    expect(new Set(seen.pollers.map((p) => p.kind))).toEqual(new Set(['workflow', 'activity']));
    const table = await bakeoffProcess(['workers'], rig.env);
    expect(table.stdout).toMatch(/^KIND\s+IDENTITY\s+LAST POLL$/m);
    expect(table.stdout).toMatch(/^workflow\s+\S+\s+\d+\.\d s ago$/m);

    await rig.stopWorker();
    await new Promise((r) => setTimeout(r, 4000));
    const gone = await bakeoffProcess(['workers', '--within', '3'], rig.env);
    expect(gone.code).toBe(2);
    expect(gone.stdout).toContain('no worker polled task queue');
    // what the runbook warned about: the server's own listing still shows the stopped worker
    const describe = await run(findTemporalCli(), ['task-queue', 'describe', '--task-queue', rig.taskQueue, '--address', rig.address, '-o', 'json'], { env: rig.env });
    expect(describe.code).toBe(0);
    expect(describe.stdout).toMatch(/"identity"/);
  }, 120_000);
});
