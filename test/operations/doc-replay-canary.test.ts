// docs/operations.md step 10 (between <!-- canary-walkthrough:start --> and <!-- canary-walkthrough:end -->),
// "a real canary", replayed against real parts: the private PostgreSQL cluster of
// scripts/provision/pg-cluster.sh, a real `bakeoff ingest --baseline` (real model, real FAISS), a real
// `bakeoff worker` process (real workflow and activities: it ingests and evaluates the candidate), the
// real retrieval service (`npm run serve`, τ calibrated on the sample) and the real traffic replayer,
// against the global setup's Temporal dev server. Every ```sh block runs verbatim in one bash session
// (`set -euo pipefail`), except the block marked <!-- replay: own terminals -->, whose lines the doc
// says to run each in its own terminal: the test starts each line as a background process, as written,
// with the first block's DATABASE_URL exported (an operator's terminals share it the same way).
//
// Substitutions, and only these:
//  - time: `--shadow 5m --ramp 10:15m,50:15m,100:15m --check-interval 1m` becomes seconds
//    (SOAKS below), so the shadow stage and canary stage 1 end within a minute;
//  - size, short mode only (the default, what `npm test` runs): `--sample 40` becomes `--sample 10` on
//    every line (a quarter of the corpus to ingest, twice); BAKEOFF_FULL=1 runs `--sample 40` as written;
//  - place: the cluster lives in a private BAKEOFF_HOME on a free port (BAKEOFF_PG_PORT, the script's own
//    knob) and the service on a free port (BAKEOFF_SERVE_PORT), so nothing collides with the global test
//    PostgreSQL or a developer's `.bakeoff/pg` and port 8088; the replayer line, verbatim, follows the same BAKEOFF_SERVE_PORT.
// The test waits for what an operator would watch before the next step: the service's
// `lane 'default' on …` line before the replayer starts, and `bakeoff workers` before `bakeoff start`.
// afterAll kills every process group it started and stops the cluster, also on failure.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bakeoffBinDir, bakeoffProcess, run } from '../support/cli';
import { markedShBlocks } from '../support/doc-blocks';

const repo = path.resolve(__dirname, '..', '..');
const operationsMd = fs.readFileSync(path.join(repo, 'docs/operations.md'), 'utf8');
const TEMPORAL = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;
const FULL = process.env.BAKEOFF_FULL === '1';
const SAMPLE = FULL ? '40' : '10';
const DOC_SOAKS = '--shadow 5m --ramp 10:15m,50:15m,100:15m --check-interval 1m';
const SOAKS = '--shadow 15s --ramp 10:40s,50:40s,100:40s --check-interval 10s';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface Background {
  line: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

/** `npm run serve` and the replayer run dist/ (step 1's `npm run build`; `npm test`'s setup compiles it): one stale file there is the wrong code. */
function staleDist(dir = path.join(repo, 'src')): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const src = path.join(dir, e.name);
    if (e.isDirectory()) return staleDist(src);
    if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) return [];
    const out = path.join(repo, 'dist', path.relative(path.join(repo, 'src'), src)).replace(/\.ts$/, '.js');
    return fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(src).mtimeMs ? [] : [path.relative(repo, src)];
  });
}

let home: string;
let env: NodeJS.ProcessEnv;
const background: Background[] = [];
let workflowId: string | undefined;

/** One line of the "own terminal" block, started as its own process group (so it and its children can be killed). */
function startInBackground(line: string, i: number): Background {
  const log = path.join(home, `terminal-${i}.log`);
  const fd = fs.openSync(log, 'a');
  const child = spawn('bash', ['-c', `exec ${line}`], { env, cwd: repo, detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const bg = { line, child, log, exited };
  background.push(bg);
  return bg;
}

async function waitForLog(bg: Background, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void bg.exited.then((c) => (exitCode = c));
  for (;;) {
    const text = fs.readFileSync(bg.log, 'utf8');
    const m = re.exec(text);
    if (m) return m;
    if (exitCode !== undefined) throw new Error(`\`${bg.line}\` exited (${exitCode}) before printing ${re}:\n${text.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`\`${bg.line}\` did not print ${re} within ${timeoutMs} ms:\n${text.slice(-3000)}`);
    await sleep(500);
  }
}

async function stopGroup(bg: Background): Promise<void> {
  if (bg.child.exitCode !== null || bg.child.signalCode !== null || bg.child.pid === undefined) return;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-bg.child.pid!, sig);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const done = await Promise.race([bg.exited.then(() => true), sleep(20_000).then(() => false)]);
  if (!done) kill('SIGKILL');
}

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-canary-doc-'));
  // Under root the cluster runs as the `postgres` OS user, which must reach $BAKEOFF_HOME/pg.
  fs.chmodSync(home, 0o755);
  const { DATABASE_URL: _unset, ...inherited } = process.env;
  env = {
    ...inherited,
    PATH: `${bakeoffBinDir()}:${process.env.PATH}`,
    USER: 'oncall-test',
    NO_COLOR: '1',
    TEMPORAL_ADDRESS: TEMPORAL,
    BAKEOFF_TASK_QUEUE: `doc-canary-${Date.now()}`,
    BAKEOFF_HOME: home,
    BAKEOFF_PG_PORT: String(await freePort()),
    BAKEOFF_SERVE_PORT: String(await freePort()),
  };
});

afterAll(async () => {
  // The workflow first (if the test failed mid-way): a running bakeoff of examples/bakeoff.yaml would
  // refuse the next start of the same id on this server.
  if (workflowId) {
    const connection = await Connection.connect({ address: TEMPORAL });
    await new Client({ connection }).workflow.getHandle(workflowId).terminate('doc-replay-canary cleanup').catch(() => undefined);
    await connection.close();
  }
  for (const bg of [...background].reverse()) await stopGroup(bg);
  if (env) await run('bash', ['scripts/provision/pg-cluster.sh', 'stop'], { env, cwd: repo, timeoutMs: 60_000 }).catch(() => undefined);
  if (home) fs.rmSync(home, { recursive: true, force: true });
}, 120_000);

test(`step 10 of docs/operations.md runs as written: cluster, real ingest, worker, service, replayer, a canary judged on real requests (--sample ${SAMPLE})`, async () => {
  const stale = staleDist();
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ` and ${stale.length - 3} more` : ''}: run \`npm run build\` first (step 1)`);
  const blocks = markedShBlocks(operationsMd, 'canary-walkthrough');
  const sized = (code: string) => (FULL ? code : code.replaceAll('--sample 40', `--sample ${SAMPLE}`));
  const terminalsAt = blocks.findIndex((b) => b.mark?.startsWith('own terminals'));
  expect(terminalsAt).toBe(1);
  expect(blocks.filter((b) => b.mark)).toHaveLength(1);
  const [setupBlock, terminalsBlock, ...rest] = blocks;
  expect(setupBlock.code).toContain('pg-cluster.sh start');
  expect(setupBlock.code).toContain('bakeoff ingest --baseline --sample 40');
  const terminals = terminalsBlock.code.split('\n').map((l) => l.trim()).filter(Boolean);
  expect(terminals).toEqual([
    'bakeoff worker --sample 40',
    'npm run serve -- --sample 40',
    'node dist/serve/traffic.js --rate 20 --duration 7200 --sample 40 --split all',
  ]);
  const watch = rest.map((b) => b.code).join('\n');
  expect(watch).toContain(DOC_SOAKS);

  // 1. the cluster and the baseline, verbatim; the terminals share the DATABASE_URL this block exports
  const t0 = Date.now();
  const urlFile = path.join(home, 'database-url');
  const setup = await run('bash', ['-c', `set -euo pipefail\n${sized(setupBlock.code)}\nprintf '%s' "$DATABASE_URL" > ${JSON.stringify(urlFile)}`], { env, cwd: repo, timeoutMs: 600_000 });
  if (setup.code !== 0) process.stderr.write(`--- setup stdout\n${setup.stdout}\n--- setup stderr\n${setup.stderr}\n`);
  expect(setup.code).toBe(0);
  expect(setup.stdout).toMatch(/^lane default: created with live table document_chunks_v512_o0_nodedup_\w+ .*pointer v1\)$/m);
  const databaseUrl = fs.readFileSync(urlFile, 'utf8');
  expect(databaseUrl).toBe(`postgresql://postgres@127.0.0.1:${env.BAKEOFF_PG_PORT}/bakeoff`);
  env = { ...env, DATABASE_URL: databaseUrl };

  // 2. each "own terminal" line as a background process, as written (sized; the replayer aimed at the service's port)
  const worker = startInBackground(sized(terminals[0]), 0);
  const service = startInBackground(sized(terminals[1]), 1);
  const tBaseline = Date.now();
  const ready = await waitForLog(service, /lane 'default' on (http:\/\/127\.0\.0\.1:\d+) .*τ = ([\d.]+)/, 300_000);
  const tServing = Date.now();
  expect(ready[1]).toBe(`http://127.0.0.1:${env.BAKEOFF_SERVE_PORT}`);
  startInBackground(sized(terminals[2]), 2);
  for (let t = Date.now(); (await bakeoffProcess(['workers'], env)).code !== 0; await sleep(1000)) {
    if (Date.now() - t > 180_000) throw new Error(`no worker polling after 3 min:\n${fs.readFileSync(worker.log, 'utf8').slice(-3000)}`);
  }

  // 3. start, watch, approve, watch the canary stage end, roll back, the pointer history — verbatim but for the soaks
  const script = ['set -euo pipefail', sized(watch.replace(DOC_SOAKS, SOAKS)), 'echo "ID=$ID"'].join('\n');
  const tStart = Date.now();
  const started = await run('bash', ['-c', script], { env, cwd: repo, timeoutMs: 900_000 });
  // the id, for afterAll's cleanup if the script failed before the rollback
  workflowId = /^ID=(bakeoff-default-[0-9a-f]{16})$/m.exec(started.stdout)?.[1];
  if (started.code !== 0) {
    process.stderr.write(`--- replay stdout\n${started.stdout}\n--- replay stderr\n${started.stderr}\n`);
    for (const bg of background) process.stderr.write(`--- ${bg.line}\n${fs.readFileSync(bg.log, 'utf8').slice(-4000)}\n`);
  }
  expect(started.code).toBe(0);
  const out = started.stdout;
  expect(workflowId).toBeDefined();

  // The offline gates of a sample cannot decide (step 7): the bakeoff asks, the approve lets it on.
  expect(out).toMatch(/^Awaiting\s+offline gates inconclusive: /m);
  expect(out).toContain(`approve signal sent to ${workflowId} (by oncall-test: canary walkthrough: judged by hand)`);
  expect(out).toMatch(/^Phase\s+canary$/m);
  // Stage 1 ran with live checks on real requests: the Live line, and live:samples counting judged
  // requests on both sides (each > 0: the service really served and judged both tables).
  const live = /^Live\s+(\d+) checks: (\d+) pass, (\d+) inconclusive, (\d+) fail · last \w+ at /m.exec(out);
  expect(live).not.toBeNull();
  expect(Number(live![1])).toBeGreaterThanOrEqual(1);
  const samples = /^live:samples\s+.*candidate (\d+), baseline (\d+) judged requests/m.exec(out);
  expect(samples).not.toBeNull();
  expect(Number(samples![1])).toBeGreaterThan(0);
  expect(Number(samples![2])).toBeGreaterThan(0);
  process.stdout.write(
    `[doc-canary] --sample ${SAMPLE}: cluster + baseline ingest ${((tBaseline - t0) / 1000).toFixed(0)} s, service up ${((tServing - tBaseline) / 1000).toFixed(0)} s later (τ ${ready[2]}), ` +
      `start → rolled back ${((Date.now() - tStart) / 1000).toFixed(0)} s; Live ${live![1]} checks (${live![2]} pass, ${live![3]} inconclusive, ${live![4]} fail); ` +
      `live:samples candidate ${samples![1]}, baseline ${samples![2]} judged requests\n`,
  );
  // then the rollback, and the pointer history: the baseline, the 10 % split, the restore
  expect(out).toMatch(/^Phase\s+rolled-back$/m);
  const history = out.slice(out.lastIndexOf('Phase'));
  expect(history).toMatch(/^v1\s+init\s+document_chunks_v512_o0_nodedup_\w+/m);
  expect(history).toMatch(/^v\d+\s+split\s+\S+\s+\S+\s+10\s/m);
  expect(history).toMatch(/^v\d+\s+restore\s+document_chunks_v512_o0_nodedup_\w+/m);
  // the service and the replayer are still up: nothing crashed under the canary
  for (const bg of background) expect(bg.child.exitCode).toBeNull();
}, 1_500_000);
