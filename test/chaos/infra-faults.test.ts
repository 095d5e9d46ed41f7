// Chaos on the servers a bakeoff depends on, during one real bakeoff (real PostgreSQL, MiniLM, FAISS,
// the real workflow; worker in a child process):
//   1. PostgreSQL restarted mid-ingest: the ingest attempt fails, is retried, and resumes from its
//      cursor; the table ends up equal to a clean run's.
//   2. PostgreSQL unreachable during canary checks: the check activity retries until the database is
//      back; a window without data is judged inconclusive — never a pass on missing data.
//   3. The Temporal dev server SIGKILLed mid-soak and restarted on the same SQLite file: the bakeoff
//      resumes where it was, the soak is not cut short, and it promotes.
// This suite starts its own PostgreSQL cluster and dev server (the shared ones must stay up for the
// other suites). CI runs the scenario once; BAKEOFF_FULL=1 runs it three times with other delays.
import { Client, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pointerHistory, readPointer } from '../../src/store/pointer';
import type { LiveCheckResult, PointerState } from '../../src/activities/types';
import { startBakeoff } from '../../src/client/bakeoff';
import { startPostgres, type PostgresServer } from '../../src/platform/postgres-server';
import { startDevServer, type DevServer } from '../../src/platform/temporal-dev-server';
import type { BakeoffStatus } from '../../src/workflows/types';
import { bySize, chaosSeed, ReliabilityRecorder, seededRandom } from '../support/reliability-record';
import { chaosInput } from './chaos-input';
import { ChaosRun } from './chaos-run';
import { checkBackupRestores, checkChunks, checkEffectsOnce, checkPointerMatchesHistory, failedChecks, findings, type Findings } from './invariants';
import { TrafficPlayer } from './traffic';
import { createWorld, lock, type World } from './world';

jest.setTimeout(bySize(10, 40) * 60_000);

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live checks need this many requests per side; a check window that lost ~half its data falls short. */
const MIN_SAMPLES = 500;
const CHECK_INTERVAL_MS = 2_000;
const RAMP = [
  { percent: 10, soak: '14s' },
  { percent: 50, soak: '8s' },
  { percent: 100, soak: '3s' },
];

interface ActivityRun {
  type: string;
  attempt: number;
  result?: unknown;
}

/** Completed activities of every run of the workflow, with the attempt that completed and its result. */
async function completedActivities(client: Client, workflowId: string, firstRunId: string): Promise<ActivityRun[]> {
  const { payloadConverter } = client.options.loadedDataConverter;
  const out: ActivityRun[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const scheduled = new Map<string, string>();
    const attempts = new Map<string, number>();
    let next: string | undefined;
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '?');
      const st = e.activityTaskStartedEventAttributes;
      if (st) attempts.set(String(st.scheduledEventId), st.attempt ?? 1);
      const c = e.activityTaskCompletedEventAttributes;
      if (c) {
        const payload = c.result?.payloads?.[0];
        out.push({
          type: scheduled.get(String(c.scheduledEventId)) ?? '?',
          attempt: attempts.get(String(c.scheduledEventId)) ?? 1,
          result: payload ? payloadConverter.fromPayload(payload) : undefined,
        });
      }
      next = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? next;
    }
    runId = next;
  }
  return out;
}

describe('chaos: PostgreSQL and Temporal server faults during a bakeoff', () => {
  const recorder = new ReliabilityRecorder('chaos-infra');
  const seed = chaosSeed();
  let tmp: string;
  let pg: PostgresServer;
  let temporal: DevServer;
  let dbFile: string;
  let temporalPort: number;
  let world: World;
  let connection: Connection;
  let client: Client;

  async function restartPostgres(downMs: number): Promise<void> {
    await pg.stop();
    await sleep(downMs);
    pg = await startPostgres({ dir: pg.dir, port: pg.port, ephemeral: true });
  }

  beforeAll(async () => {
    const t0 = Date.now();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-chaos-infra-'));
    dbFile = path.join(tmp, 'temporal.db');
    [pg, temporal] = await Promise.all([
      startPostgres({ dir: path.join(tmp, 'pg'), ephemeral: true }),
      startDevServer({ dbFile, headless: true, logFile: path.join(tmp, 'temporal.log') }),
    ]);
    temporalPort = Number(temporal.address.split(':')[1]);
    world = await createWorld({ serverUrl: pg.url, name: 'infra' });
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
    recorder.measure({ name: 'set-up (own PostgreSQL + dev server, baseline ingest)', value: Date.now() - t0, unit: 'ms' });
  });

  afterAll(async () => {
    await connection?.close();
    await world?.close().catch(() => undefined);
    await temporal?.stop('SIGKILL');
    await pg?.stop().catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('PostgreSQL restarted mid-ingest, unreachable during canary checks; Temporal server killed mid-soak', async () => {
    const reps = bySize(1, 3);
    for (let rep = 0; rep < reps; rep++) {
      const random = seededRandom(seed + 7919 * (rep + 1));
      const lane = `infra${rep}`;
      const before: PointerState = await world.lane(lane);
      const chunkVersion = `v450_infra_r${rep}`;
      const locked = lock(world, chunkVersion);
      const clean = await world.cleanRun(locked);
      const taskQueue = `chaos-infra-${rep}-${seed}`;
      const run = new ChaosRun({
        world, client, temporalAddress: temporal.address, taskQueue, name: `infra-${rep}`, lane,
        ramp: RAMP.map((r) => r.percent), candidateTable: locked.shadow_table, random, autoApprove: true, log,
      });
      const traffic = new TrafficPlayer(world.db, lane, { tickMs: 400, samplesPerWindow: 160 });
      const f: Findings = findings();
      try {
        // A slow embedder (250 ms per batch of 8) makes the ingest last long enough to fault it.
        await run.startWorker({ embedDelayMs: 250 });
        const handle = await startBakeoff(
          client,
          chaosInput(world, { lane, chunkVersion, ramp: RAMP, checkInterval: `${CHECK_INTERVAL_MS}ms`, minSamples: MIN_SAMPLES }),
          { taskQueue, workflowId: `chaos-${lane}-${seed}-${Date.now()}` },
        );

        // 1. PostgreSQL restarted mid-ingest, once a few batches are in.
        await run.waitFor(handle, 'ingesting', (s) => s.phase === 'ingesting');
        const cursorAt = async () => {
          const r = await world.db.query<{ cursor: number }>('SELECT cursor FROM ingest_runs WHERE ingest_run_id = $1', [locked.ingest_run_id]).catch(() => ({ rows: [] }));
          return r.rows[0]?.cursor ?? 0;
        };
        const wantCursor = 8 + Math.floor(random() * 16);
        for (const deadline = Date.now() + 120_000; (await cursorAt()) < wantCursor; ) {
          if (Date.now() > deadline) throw new Error('the ingest made no progress');
          await sleep(100);
        }
        const cursorBefore = await cursorAt();
        const downMs = 1_000 + Math.round(random() * 2_000);
        run.note(`restarting PostgreSQL mid-ingest (cursor ${cursorBefore}/${world.dataset.docs.length}, down ${downMs} ms)`);
        await restartPostgres(downMs);
        recorder.measure({ name: `rep ${rep}: PostgreSQL restart mid-ingest at cursor`, value: cursorBefore, detail: `down ${downMs} ms` });

        // 2. PostgreSQL unreachable during canary checks in stage 1 (traffic flowing first).
        traffic.start();
        // Mid-stage checks of the anytime-valid judge are inconclusive until non-breach is proven: wait
        // for checks judged on data, none failed.
        await run.waitFor(handle, 'canary stage 1 with live checks running', (s) => s.phase === 'canary' && s.stage?.index === 0 && s.live.checks >= 2 && s.live.fails === 0);
        const outageMs = 3 * CHECK_INTERVAL_MS + Math.round(random() * CHECK_INTERVAL_MS);
        run.note(`PostgreSQL down for ${outageMs} ms during canary checks`);
        await pg.stop();
        await sleep(outageMs);
        pg = await startPostgres({ dir: pg.dir, port: pg.port, ephemeral: true });
        run.note('PostgreSQL back');

        // 3. Temporal server SIGKILLed mid-soak of stage 2, restarted on the same SQLite file and port.
        await run.waitFor(handle, 'canary stage 2', (s) => s.phase === 'canary' && s.stage?.index === 1);
        await sleep(Math.round(random() * 3_000));
        const atKill: BakeoffStatus | null = await run.status(handle);
        run.note(`SIGKILL to the Temporal dev server (stage ${atKill?.stage ? atKill.stage.index + 1 : '?'}, ${atKill?.stage?.remainingMs ?? '?'} ms of soak left)`);
        await temporal.stop('SIGKILL');
        await sleep(1_000 + Math.round(random() * 2_000));
        temporal = await startDevServer({ dbFile, port: temporalPort, headless: true, logFile: path.join(tmp, 'temporal.log') });
        run.note('Temporal dev server back on the same SQLite file');

        const result = await run.finish(handle, 240_000);
        traffic.stop();
        const finalPointer = (await readPointer(world.db, lane))!;

        // ---- invariants ------------------------------------------------------------------------
        f.checks.push({ name: 'outcome promoted', ok: result.outcome === 'promoted', detail: `${result.outcome} ${result.status.failure ?? ''}` });
        f.checks.push({ name: 'the lane serves the candidate', ok: finalPointer.liveTable === locked.shadow_table && finalPointer.candidateTable === null, detail: `${finalPointer.liveTable}` });
        await checkChunks(f, world.db, locked.shadow_table, clean);
        await checkPointerMatchesHistory(f, world.db, lane);
        await checkEffectsOnce(f, world.db, { lane, workflowId: handle.workflowId, splits: RAMP.map((r) => r.percent), outcome: 'promoted' });

        const ingestRun = await world.db.query<{ attempts: number; resumed_from: number | null }>(
          `SELECT attempts, (report->>'resumed_from')::int AS resumed_from FROM ingest_runs WHERE ingest_run_id = $1`,
          [locked.ingest_run_id],
        );
        const ir = ingestRun.rows[0];
        const activities = await completedActivities(client, handle.workflowId, handle.firstExecutionRunId);
        const ingestAttempt = activities.find((a) => a.type === 'shadowIngest')?.attempt ?? 0;
        // The retried attempt read its starting point from the last heartbeat the failed one sent.
        const resumeLine = fs.readFileSync(run.logFile, 'utf8').match(new RegExp(`${locked.shadow_table}: last heartbeat at document (\\d+) \\(ingest\\), corpus unchanged: resuming there`));
        f.checks.push({
          name: 'the ingest was retried after the restart and resumed from its heartbeat cursor',
          ok: ingestAttempt >= 2 && !!ir && ir.attempts >= 2 && (ir.resumed_from ?? 0) > 0 && Number(resumeLine?.[1] ?? 0) > 0,
          detail: `activity attempt ${ingestAttempt}; ingest_runs ${JSON.stringify(ir ?? null)}; worker log: ${resumeLine?.[0] ?? 'no resume line'}`,
        });

        const checks = activities.filter((a) => a.type === 'checkLiveKpis').map((a) => ({ ...a, r: a.result as LiveCheckResult }));
        const retried = checks.filter((c) => c.attempt > 1);
        const falsePasses = checks.filter((c) => c.r.verdict === 'pass' && (c.r.baseline.samples < MIN_SAMPLES || c.r.candidate.samples < MIN_SAMPLES));
        const starved = checks.filter((c) => c.r.verdict === 'inconclusive' && Math.min(c.r.baseline.samples, c.r.candidate.samples) < MIN_SAMPLES);
        f.checks.push({ name: 'a live check was retried while the database was unreachable', ok: retried.length >= 1, detail: `${retried.length} checks needed more than one attempt (max ${Math.max(0, ...checks.map((c) => c.attempt))})` });
        f.checks.push({ name: 'a check window without its data was inconclusive', ok: starved.length >= 1, detail: `${starved.length} inconclusive checks short of samples` });
        f.checks.push({ name: 'no live check passed on missing data', ok: falsePasses.length === 0, detail: `${falsePasses.length} of ${checks.length} checks passed below ${MIN_SAMPLES} samples` });

        // Stage 2's soak spanned the server's death: it must still have lasted its full length.
        const h = await pointerHistory(world.db, lane);
        const t50 = h.find((x) => x.action === 'split' && x.canaryPercent === 50)?.updatedAt;
        const t100 = h.find((x) => x.action === 'split' && x.canaryPercent === 100)?.updatedAt;
        const stage2Ms = t50 && t100 ? Date.parse(t100) - Date.parse(t50) : -1;
        f.checks.push({ name: 'stage 2 soaked its full 8 s across the server restart', ok: stage2Ms >= 8_000, detail: `${stage2Ms} ms between the 50 % and 100 % splits` });
        if (result.status.backupId) await checkBackupRestores(f, world.db, result.status.backupId, world.baseline.fingerprint, before);

        const passed = f.checks.filter((c) => c.ok).length;
        const common = { injected: 1, lost: f.lost, duplicated: f.duplicated, appliedTwice: f.appliedTwice, checks: f.checks.length, checksPassed: passed };
        recorder.fault({ fault: 'PostgreSQL restart', where: 'ingesting (mid-ingest)', outcome: `${result.outcome}; ingest retried (attempt ${ingestAttempt}), resumed from document ${ir?.resumed_from ?? '?'}`, ...common });
        recorder.fault({ fault: 'PostgreSQL unreachable', where: 'canary stage 1 checks', outcome: `${result.outcome}; down ${(outageMs / 1000).toFixed(1)} s: ${retried.length} check(s) retried, ${starved.length} inconclusive, ${falsePasses.length} false passes`, ...common });
        recorder.fault({ fault: 'Temporal dev server SIGKILL + restart (same SQLite)', where: 'canary stage 2 soak', outcome: `${result.outcome}; stage 2 soaked ${(stage2Ms / 1000).toFixed(1)} s of 8 s`, ...common });
        recorder.measure({ name: `rep ${rep}: checks (pass / inconclusive / fail)`, value: `${checks.filter((c) => c.r.verdict === 'pass').length} / ${checks.filter((c) => c.r.verdict === 'inconclusive').length} / ${checks.filter((c) => c.r.verdict === 'fail').length}` });
        recorder.measure({ name: `rep ${rep}: traffic windows written / lost to the outages`, value: `${traffic.stats.windows} / ${traffic.stats.failedWrites}` });

        const failed = failedChecks(f);
        if (failed.length > 0) log(`[infra-${rep}] failed checks:\n${failed.map((c) => `  ✗ ${c.name}: ${c.detail}`).join('\n')}`);
        expect(failed).toEqual([]);
        expect(f.lost).toBe(0);
        expect(f.duplicated).toBe(0);
        expect(f.appliedTwice).toBe(0);
      } finally {
        traffic.stop();
        await run.close();
      }
    }
  });
});
