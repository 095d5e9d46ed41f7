// Resume latency after a worker crash (issue 4 target: ≤ 10 s): a real bakeoff soaking in canary
// stage 1 (live checks every second), its worker process SIGKILLed at a random moment and a
// replacement started at once. Measured per kill: kill → replacement READY (process boot: bundle,
// model, database), and kill → the first canary check the replacement completes (the bakeoff moving
// again). Side by side in one run: the SDK's default sticky-queue schedule-to-start timeout (10 s)
// and the product's (src/worker.ts), since a task the server already put on the dead worker's sticky
// queue waits that long before it moves to the shared queue.
// Real Temporal dev server, real PostgreSQL, real activities (MiniLM, FAISS, the 6-case FAQ subset)
// in a child worker process (test/support/worker-main.ts).
//   node -r ./test/support/ts-register.js bench/resume-latency.ts [--kills 6]
import { Client, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startBakeoff } from '../src/client/bakeoff';
import { startPostgres } from '../src/platform/postgres-server';
import { startDevServer } from '../src/platform/temporal-dev-server';
import { STICKY_QUEUE_TIMEOUT_MS } from '../src/worker';
import { rollbackSignal, statusQuery } from '../src/workflows/messages';
import { isTerminal, type BakeoffStatus } from '../src/workflows/types';
import { chaosInput } from '../test/chaos/chaos-input';
import { createWorld, type World } from '../test/chaos/world';
import { WorkerProcess } from '../test/support/worker-process';
import { percentile } from '../src/rag/metrics';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

function pct(xs: number[], p: number): number {
  return percentile(xs, p / 100);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CHECK_DONE = /^(\S+) \[worker \d+\] activity checkLiveKpis #\d+ finished/;

interface KillSample {
  bootMs: number;
  resumeMs: number;
}

async function runConfig(world: World, client: Client, address: string, stickyMs: number, kills: number, label: string): Promise<KillSample[]> {
  const lane = `resume_${stickyMs}`;
  await world.lane(lane);
  const taskQueue = `resume-bench-${stickyMs}-${Date.now()}`;
  const logFile = path.join(world.logDir, `${lane}.log`);
  const start = () =>
    WorkerProcess.start({
      temporalAddress: address,
      taskQueue,
      databaseUrl: world.databaseUrl,
      stateDir: world.stateDir,
      subsetCases: world.dataset.cases.length,
      bundlePath: world.bundlePath,
      logFile,
      env: { WORKER_STICKY_TIMEOUT_MS: String(stickyMs), WORKER_LOG_LEVEL: 'WARN' },
    });
  let worker = await start();
  const handle = await startBakeoff(
    client,
    chaosInput(world, { lane, chunkVersion: `v450_resume_${stickyMs}`, ramp: [{ percent: 10, soak: '2h' }], checkInterval: '1s', minSamples: 1_000_000 }),
    { taskQueue, workflowId: `resume-bench-${stickyMs}-${Date.now()}` },
  );
  const status = async (): Promise<BakeoffStatus | null> => {
    try {
      return await client.connection.withDeadline(Date.now() + 2_000, () => handle.query(statusQuery));
    } catch {
      return null;
    }
  };
  // Bring the bakeoff to its soak, approving the tiny corpus's inconclusive offline verdict.
  for (const deadline = Date.now() + 600_000; ; ) {
    const st = await status();
    if (st?.phase === 'canary') break;
    if (st?.phase === 'awaiting-operator') await handle.signal('approve', { by: 'bench', reason: 'tiny corpus' });
    if (st && isTerminal(st.phase)) throw new Error(`bakeoff ended (${st.phase}) before its canary: ${st.failure ?? ''}`);
    if (Date.now() > deadline) throw new Error('canary not reached in 10 min');
    await sleep(250);
  }
  const samples: KillSample[] = [];
  try {
    for (let i = 0; i < kills; i++) {
      await worker.waitForLine(CHECK_DONE, 60_000); // the worker is really serving the soak
      await sleep(Math.round(Math.random() * 1_500)); // anywhere in the 1 s check cycle
      await worker.kill('SIGKILL');
      const tKill = Date.now();
      worker = await start();
      const tReady = Date.now();
      const line = await worker.waitForLine(CHECK_DONE, 120_000);
      const tResumed = Date.parse(CHECK_DONE.exec(line)![1]);
      samples.push({ bootMs: tReady - tKill, resumeMs: tResumed - tKill });
      process.stdout.write(`${label} kill ${i + 1}/${kills}: replacement ready +${tReady - tKill} ms, first canary check done +${tResumed - tKill} ms\n`);
    }
    await handle.signal(rollbackSignal, { reason: 'bench over', by: 'bench' });
    await client.connection.withDeadline(Date.now() + 120_000, () => handle.result());
  } finally {
    await worker.stop();
  }
  return samples;
}

async function main(): Promise<void> {
  const kills = arg('kills', 6);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-resume-bench-'));
  const [pg, temporal] = await Promise.all([startPostgres({ dir: path.join(tmp, 'pg'), ephemeral: true }), startDevServer({ headless: true })]);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const rows: string[] = [];
  let world: World | undefined;
  try {
    world = await createWorld({ serverUrl: pg.url, name: 'resume_bench' });
    const configs: Array<[number, string]> = [
      [10_000, 'SDK default sticky timeout (10 s)'],
      [STICKY_QUEUE_TIMEOUT_MS, `bakeoff worker (${STICKY_QUEUE_TIMEOUT_MS / 1000} s)`],
    ];
    for (const [ms, label] of configs) {
      const s = await runConfig(world, client, temporal.address, ms, kills, label);
      const boot = s.map((x) => x.bootMs);
      const resume = s.map((x) => x.resumeMs);
      rows.push(`| ${label} | ${kills} | ${pct(boot, 50)} ms | ${pct(resume, 50)} ms | ${pct(resume, 95)} ms | ${Math.max(...resume)} ms |`);
    }
  } finally {
    await world?.close();
    await connection.close();
    await temporal.stop();
    await pg.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  process.stdout.write(
    `\n${os.cpus().length} cores, load ${load}, ${new Date().toISOString().slice(0, 10)}\n` +
      '| worker setting | kills | kill → replacement ready, p50 | kill → bakeoff moving again, p50 | p95 | max |\n|---|---:|---:|---:|---:|---:|\n' +
      `${rows.join('\n')}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
