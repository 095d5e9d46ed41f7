// Chaos: the worker process is SIGKILLed in every phase of a real bakeoff (real PostgreSQL, the real
// MiniLM tokenizer and vectors, FAISS, the FAQ subset, the real workflow on the Temporal dev server)
// and restarted; afterwards the bakeoff must have finished as it would have without the kills, with
// every invariant intact:
//   - the pointer fitted the phase at every kill, and equals its history at the end;
//   - the candidate table holds exactly the clean run's chunks (0 lost, 0 duplicated, 0 changed);
//   - every side effect was applied once (pointer history, audit rows, backup, archive);
//   - the backup taken at the start restores the baseline and the pointer.
// Kills are of two kinds: from outside, a seeded random delay after the status query shows the phase
// (short phases are stretched by a delay in the activity so the kill lands inside them); and from
// inside, right after a side effect committed but before the server heard of it — the window where an
// at-least-once retry would apply it twice without the audit table.
//
// CI runs each scenario once (~2–3 min); BAKEOFF_FULL=1 repeats them with other seeds.
import { Client, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { startBakeoff } from '../../src/client/bakeoff';
import { readPointer } from '../../src/store/pointer';
import type { PointerState } from '../../src/activities/types';
import type { bakeoff } from '../../src/workflows/bakeoff';
import type { BakeoffStatus } from '../../src/workflows/types';
import { bySize, chaosSeed, ReliabilityRecorder, seededRandom } from '../support/reliability-record';
import { chaosInput } from './chaos-input';
import { ChaosRun, type KillPoint, type KillRecord } from './chaos-run';
import { checkBackupRestores, checkChunks, checkEffectsOnce, checkPointerMatchesHistory, failedChecks, findings, type Findings } from './invariants';
import { TrafficPlayer } from './traffic';
import { createWorld, lock, type World } from './world';

jest.setTimeout(bySize(12, 45) * 60_000);

const TEMPORAL = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;
const PG = process.env.BAKEOFF_TEST_PG_URL!;
const log = (line: string) => process.stderr.write(`${line}\n`);

const at = (phase: BakeoffStatus['phase'], stage?: number) => ({ phase, stage });

/** Promotion path: one kill in every phase from locking to promoting. */
function promotePoints(): KillPoint[] {
  return [
    { name: 'locking', faults: { delayMs: { lockConfig: 2500 } }, at: at('locking'), maxDelayMs: 2000 },
    { name: 'backing-up (after the backup committed)', faults: { crashAfter: { activity: 'backupLive' } } },
    { name: 'ingesting (after 2 committed batches)', faults: { crashAfterIngestBatches: 2 } },
    { name: 'evaluating', faults: { delayMs: { evaluate: 3000, evaluatePair: 3000 } }, at: at('evaluating'), maxDelayMs: 2500 },
    { name: 'probing', faults: { delayMs: { runProbes: 3000 } }, at: at('probing'), maxDelayMs: 2500 },
    {
      name: 'gating (awaiting the operator)',
      at: at('awaiting-operator'),
      maxDelayMs: 1000,
      // The approval arrives while no worker runs: the server keeps the signal for the next one.
      whileDown: (h) => h.signal('approve', { by: 'chaos-operator', reason: 'approved while the worker was down' }),
    },
    { name: 'canary stage 1 (after the 10 % split committed)', faults: { crashAfter: { activity: 'setTrafficSplit', call: 1 } } },
    { name: 'canary stage 2 (soak)', at: at('canary', 1), maxDelayMs: 3000 },
    { name: 'canary stage 3 (soak)', at: at('canary', 2), maxDelayMs: 3000 },
    { name: 'promoting (after the promotion committed)', faults: { crashAfter: { activity: 'promoteCandidate' } } },
  ];
}

/** Rollback path: an operator rolls back in stage 1; kills inside the rollback. */
function rollbackPoints(): KillPoint[] {
  return [
    {
      name: 'rolling back (after the pointer was restored)',
      faults: { crashAfter: { activity: 'restoreBaseline' } },
      trigger: { at: at('canary', 0), requestsRollback: true, action: (h) => h.signal('rollback', { by: 'chaos-oncall', reason: 'chaos drill: roll back during stage 1' }) },
    },
    { name: 'rolling back (smoke evaluation)', faults: { delayMs: { evaluate: 3000 } }, at: at('rolling-back'), maxDelayMs: 2500 },
  ];
}

interface Scenario {
  name: string;
  lane: string;
  chunkVersion: string;
  ramp: { percent: number; soak: string }[];
  points: KillPoint[];
  expect: 'promoted' | 'rolled-back';
}

interface ScenarioResult {
  scenario: Scenario;
  rep: number;
  outcome: string;
  kills: KillRecord[];
  f: Findings;
  status: BakeoffStatus;
  /** The lane's pointer when the bakeoff ended (before the backup-restore check moves it back). */
  finalPointer: PointerState;
  seconds: number;
}

describe('chaos: worker SIGKILL in every phase', () => {
  let world: World;
  let connection: Connection;
  let client: Client;
  const recorder = new ReliabilityRecorder('chaos-worker-kill');
  const seed = chaosSeed();

  beforeAll(async () => {
    const t0 = Date.now();
    [world, connection] = await Promise.all([createWorld({ serverUrl: PG, name: 'wkill' }), Connection.connect({ address: TEMPORAL })]);
    client = new Client({ connection });
    recorder.measure({ name: 'world set-up (scratch database, baseline ingest, bundle)', value: Date.now() - t0, unit: 'ms' });
  });

  afterAll(async () => {
    await connection?.close();
    await world?.close();
  });

  async function runScenario(sc: Scenario, rep: number): Promise<ScenarioResult> {
    const t0 = Date.now();
    const random = seededRandom(seed + rep * 1000 + sc.name.length);
    const lane = `${sc.lane}${rep}`;
    const before = await world.lane(lane);
    const chunkVersion = `${sc.chunkVersion}_r${rep}`;
    const locked = lock(world, chunkVersion);
    const clean = world.cleanRun(locked); // in parallel with the bakeoff's own ingest
    const traffic = new TrafficPlayer(world.db, lane).start();
    const run = new ChaosRun({
      world, client, temporalAddress: TEMPORAL, taskQueue: `chaos-${lane}-${seed}`, name: `${sc.name}-${rep}`, lane,
      ramp: sc.ramp.map((r) => r.percent), candidateTable: locked.shadow_table, random, autoApprove: true, log,
    });
    let handle: WorkflowHandle<typeof bakeoff> | undefined;
    try {
      await run.startWorker(sc.points[0]?.faults);
      handle = await startBakeoff(client, chaosInput(world, { lane, chunkVersion, ramp: sc.ramp }), { taskQueue: `chaos-${lane}-${seed}`, workflowId: `chaos-${lane}-${seed}-${Date.now()}` });
      const result = await run.run(handle, sc.points);
      traffic.stop();

      const finalPointer = (await readPointer(world.db, lane))!;
      const f = findings();
      for (const k of run.kills) f.checks.push({ name: `pointer fits the phase at kill '${k.point}'`, ok: k.pointerOk, detail: k.pointerWhy });
      f.checks.push({ name: `outcome ${sc.expect}`, ok: result.outcome === sc.expect, detail: `${result.outcome}${result.status.failure ? `: ${result.status.failure}` : ''}` });
      await checkChunks(f, world.db, locked.shadow_table, await clean);
      await checkPointerMatchesHistory(f, world.db, lane);
      const splits = sc.expect === 'promoted' ? sc.ramp.map((r) => r.percent) : [sc.ramp[0].percent];
      await checkEffectsOnce(f, world.db, { lane, workflowId: handle.workflowId, splits, outcome: sc.expect });
      if (result.status.backupId) await checkBackupRestores(f, world.db, result.status.backupId, world.baseline.fingerprint, before);
      else f.checks.push({ name: 'a backup was taken', ok: false, detail: 'status.backupId is null' });
      const ingest = await world.db.query<{ attempts: number; resumed_from: number | null }>(
        `SELECT attempts, (report->>'resumed_from')::int AS resumed_from FROM ingest_runs WHERE ingest_run_id = $1`,
        [locked.ingest_run_id],
      );
      if (sc.points.some((p) => p.faults?.crashAfterIngestBatches)) {
        const row = ingest.rows[0];
        const resumeLine = fs.readFileSync(run.logFile, 'utf8').match(new RegExp(`${locked.shadow_table}: last heartbeat at document (\\d+) \\(ingest\\), corpus unchanged: resuming there`));
        f.checks.push({
          name: 'the killed ingest resumed from its heartbeat cursor',
          ok: !!row && row.attempts >= 2 && (row.resumed_from ?? 0) > 0 && Number(resumeLine?.[1] ?? 0) > 0,
          detail: `${JSON.stringify(row ?? null)}; worker log: ${resumeLine?.[0] ?? 'no resume line'}`,
        });
      }
      return { scenario: sc, rep, outcome: result.outcome, kills: run.kills, f, status: result.status, finalPointer, seconds: (Date.now() - t0) / 1000 };
    } finally {
      traffic.stop();
      await run.close();
    }
  }

  function record(r: ScenarioResult): void {
    const passed = r.f.checks.filter((c) => c.ok).length;
    for (const k of r.kills) {
      recorder.fault({
        fault: 'worker SIGKILL',
        where: k.point,
        injected: 1,
        outcome: `${r.outcome} (status showed ${k.phase}; ${k.how === 'sigkill-self' ? (k.selfCrashLine?.replace(/^.*CHAOS: SIGKILL /, 'killed ') ?? 'killed by its own fault plan') : `killed +${k.delayMs} ms after`})`,
        lost: r.f.lost,
        duplicated: r.f.duplicated,
        appliedTwice: r.f.appliedTwice,
        checks: r.f.checks.length,
        checksPassed: passed,
      });
    }
    recorder.measure({ name: `${r.scenario.name} path, repetition ${r.rep + 1}: bakeoff with ${r.kills.length} kills, wall time`, value: Math.round(r.seconds), unit: 's', detail: `${r.kills.length} worker restarts` });
  }

  function expectClean(r: ScenarioResult): void {
    const failed = failedChecks(r.f);
    if (failed.length > 0) log(`[${r.scenario.name}] failed checks:\n${failed.map((c) => `  ✗ ${c.name}: ${c.detail}`).join('\n')}`);
    expect(failed).toEqual([]);
    expect(r.f.lost).toBe(0);
    expect(r.f.duplicated).toBe(0);
    expect(r.f.appliedTwice).toBe(0);
  }

  test('promotion path: killed in locking, backing-up, ingesting, evaluating, probing, gating, each canary stage and promoting', async () => {
    const reps = bySize(1, 3);
    for (let rep = 0; rep < reps; rep++) {
      const r = await runScenario(
        {
          name: 'promote',
          lane: 'chaosp',
          chunkVersion: 'v450_chaosp',
          ramp: [{ percent: 10, soak: '4s' }, { percent: 50, soak: '4s' }, { percent: 100, soak: '4s' }],
          points: promotePoints(),
          expect: 'promoted',
        },
        rep,
      );
      record(r);
      expectClean(r);
      expect(r.kills).toHaveLength(promotePoints().length);
      // The pointer ended on the candidate, and the bakeoff says who approved it.
      expect(r.finalPointer).toMatchObject({ liveTable: expect.stringMatching(new RegExp(`^document_chunks_v450_chaosp_r${rep}_[0-9a-f]{8}$`)), candidateTable: null, canaryPercent: 0 });
      expect(r.status.approvals.map((a) => a.by)).toContain('chaos-operator');
    }
  });

  test('rollback path: killed right after the pointer was restored and during the smoke evaluation', async () => {
    const reps = bySize(1, 3);
    for (let rep = 0; rep < reps; rep++) {
      const r = await runScenario(
        { name: 'rollback', lane: 'chaosr', chunkVersion: 'v450_chaosr', ramp: [{ percent: 20, soak: '10m' }], points: rollbackPoints(), expect: 'rolled-back' },
        rep,
      );
      record(r);
      expectClean(r);
      expect(r.status.rollback).toMatchObject({ by: 'chaos-oncall', reason: 'chaos drill: roll back during stage 1', automatic: false });
      expect(r.status.rollback?.smoke?.ok).toBe(true);
      expect(r.finalPointer).toMatchObject({ liveTable: world.baseline.table, candidateTable: null, canaryPercent: 0 });
    }
  });
});
