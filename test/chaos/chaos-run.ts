// Drives one bakeoff through a list of kill points: for each, a worker process (with that point's
// fault plan) runs until the point is reached, dies (SIGKILL from the test after a seeded random
// delay inside the phase, or by its own hand right after an effect committed), the pointer is checked
// against the phase it died in, and a fresh worker takes over. Records what happened at each kill.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPointer } from '../../src/store/pointer';
import type { PointerState } from '../../src/activities/types';
import type { bakeoff } from '../../src/workflows/bakeoff';
import { statusQuery } from '../../src/workflows/messages';
import { isTerminal, type BakeoffResult, type BakeoffStatus, type Phase } from '../../src/workflows/types';
import type { FaultPlan } from '../support/worker-main';
import { WorkerProcess } from '../support/worker-process';
import { pointerFitsPhase } from './invariants';
import type { World } from './world';

export interface KillPoint {
  /** Shown in the report: 'canary stage 1', 'promoting', ... */
  name: string;
  /** Fault plan of the worker that runs up to this point (self-inflicted crashes live here). */
  faults?: FaultPlan;
  /** External kill: once the status shows this phase (and stage), wait a random delay in [0, maxDelayMs] and SIGKILL. */
  at?: PhaseAt;
  maxDelayMs?: number;
  /** Runs while no worker is up (e.g. an operator's signal, which the server records anyway). */
  whileDown?: (handle: WorkflowHandle<typeof bakeoff>) => Promise<void>;
  /** An operator action taken, once, when the status first shows `at` (e.g. a rollback signal). */
  trigger?: { at: PhaseAt; action: (handle: WorkflowHandle<typeof bakeoff>) => Promise<void>; requestsRollback?: boolean };
}

export interface PhaseAt {
  phase: Phase;
  /** Canary stage index (0-based). */
  stage?: number;
}

const ORDER: Phase[] = ['locking', 'backing-up', 'ingesting', 'evaluating', 'probing', 'gating', 'canary', 'promoting', 'rolling-back', 'done', 'rolled-back', 'failed'];

/** Position of a status on the bakeoff's path, to tell "not there yet" from "went past it". */
function rank(phase: Phase, stage: number | undefined | null): number {
  const p = phase === 'awaiting-operator' ? (stage === undefined || stage === null ? 'gating' : 'canary') : phase;
  // Between stages (after a continue-as-new) the stage is not shown: count it as "before any".
  return ORDER.indexOf(p) * 100 + (stage ?? -0.5);
}

export function matches(at: PhaseAt, s: BakeoffStatus): boolean {
  return s.phase === at.phase && (at.stage === undefined || s.stage?.index === at.stage);
}

export interface KillRecord {
  point: string;
  how: 'sigkill-external' | 'sigkill-self';
  /** Phase (and stage) the status query showed last before the kill. */
  phase: string;
  delayMs: number;
  pointer: PointerState;
  pointerOk: boolean;
  pointerWhy: string;
  selfCrashLine?: string;
}

export interface ChaosRunOptions {
  world: World;
  client: Client;
  temporalAddress: string;
  taskQueue: string;
  name: string;
  lane: string;
  ramp: number[];
  candidateTable: string;
  random: () => number;
  workerEnv?: Record<string, string>;
  /** The worker's DATABASE_URL, when not the world's own (e.g. with a password to scan for). */
  databaseUrl?: string;
  log?: (line: string) => void;
  /** Per kill point: how long it may take to be reached. */
  pointTimeoutMs?: number;
  /** Approve any operator decision no kill point is aimed at (the offline gates of a tiny corpus are inconclusive). */
  autoApprove?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ChaosRun {
  worker: WorkerProcess | null = null;
  lastStatus: BakeoffStatus | null = null;
  readonly kills: KillRecord[] = [];
  restarts = 0;

  private readonly t0 = Date.now();

  constructor(private readonly o: ChaosRunOptions) {}

  private say(line: string): void {
    this.o.log?.(`[${this.o.name} +${((Date.now() - this.t0) / 1000).toFixed(1)}s] ${line}`);
  }

  note(line: string): void {
    this.say(line);
  }

  get logFile(): string {
    return path.join(this.o.world.logDir, `${this.o.name}.log`);
  }

  async startWorker(faults?: FaultPlan): Promise<WorkerProcess> {
    this.worker = await WorkerProcess.start({
      temporalAddress: this.o.temporalAddress,
      taskQueue: this.o.taskQueue,
      databaseUrl: this.o.databaseUrl ?? this.o.world.databaseUrl,
      stateDir: this.o.world.stateDir,
      subsetCases: this.o.world.dataset.cases.length,
      bundlePath: this.o.world.bundlePath,
      faults,
      env: this.o.workerEnv,
      logFile: this.logFile,
    });
    return this.worker;
  }

  private approvedSince = new Set<number>();
  private lastWhere = '';

  async status(handle: WorkflowHandle<typeof bakeoff>, point?: KillPoint): Promise<BakeoffStatus | null> {
    let st: BakeoffStatus;
    try {
      // A query to a workflow whose (sticky) worker just died waits for the RPC deadline: keep it short.
      st = await this.o.client.connection.withDeadline(Date.now() + 2_000, () => handle.query(statusQuery));
    } catch {
      return null; // no worker answers (it just died) or the first task has not run yet
    }
    const where = `${st.phase}${st.stage ? ` stage ${st.stage.index + 1}` : ''}`;
    if (where !== this.lastWhere) this.say(`status: ${where}`);
    this.lastWhere = where;
    this.lastStatus = st;
    if (point?.trigger && !this.triggered.has(point) && matches(point.trigger.at, st)) {
      this.triggered.add(point);
      await point.trigger.action(handle);
    }
    const atKillPoint = point?.at ? matches(point.at, st) : false;
    if (this.o.autoApprove && st.phase === 'awaiting-operator' && st.awaiting && !atKillPoint && !this.approvedSince.has(st.awaiting.since)) {
      this.approvedSince.add(st.awaiting.since);
      await handle.signal('approve', { by: 'chaos-operator', reason: 'tiny chaos corpus: dedup-rate probe is inconclusive by design' });
    }
    return st;
  }

  private readonly triggered = new Set<KillPoint>();

  /** Runs the bakeoff through every kill point, then lets it finish on a healthy worker. */
  async run(handle: WorkflowHandle<typeof bakeoff>, points: KillPoint[], finalTimeoutMs = 240_000): Promise<BakeoffResult> {
    if (!this.worker) await this.startWorker(points[0]?.faults);
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      const record = await this.runPoint(handle, p);
      this.kills.push(record);
      this.say(`killed at ${p.name} (${record.how}, phase ${record.phase}, +${record.delayMs} ms): pointer ${record.pointerOk ? 'ok' : 'NOT ok'} — ${record.pointerWhy}`);
      if (p.whileDown) await p.whileDown(handle);
      await this.startWorker(points[i + 1]?.faults);
      this.restarts += 1;
      this.say(`worker restarted (pid ${this.worker!.pid})`);
    }
    return this.finish(handle, finalTimeoutMs);
  }

  /** Polls (approving as configured) until the bakeoff ends; survives a server that is briefly down. */
  async finish(handle: WorkflowHandle<typeof bakeoff>, timeoutMs = 240_000): Promise<BakeoffResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`[${this.o.name}] bakeoff did not finish within ${timeoutMs} ms; last status ${this.lastStatus?.phase}`);
      const st = await this.status(handle);
      if (st && isTerminal(st.phase)) {
        try {
          const result = await this.o.client.connection.withDeadline(Date.now() + 10_000, () => handle.result());
          this.say(`bakeoff finished: ${result.outcome}`);
          await this.dumpTimeline(handle).catch((err: Error) => this.say(`timeline not written: ${err.message}`));
          return result;
        } catch (err) {
          // Terminal in state but the run not closed yet (the final report is being written): poll on.
          if ((err as Error).name === 'WorkflowFailedError') throw err;
        }
      }
      await sleep(250);
    }
  }

  /** Polls the status until `pred` holds (approving as configured); throws if the bakeoff ends first. */
  async waitFor(handle: WorkflowHandle<typeof bakeoff>, what: string, pred: (s: BakeoffStatus) => boolean, timeoutMs = 180_000): Promise<BakeoffStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.status(handle);
      if (st && pred(st)) return st;
      if (st && isTerminal(st.phase)) throw new Error(`[${this.o.name}] bakeoff ended (${st.phase}) while waiting for ${what}: ${st.failure ?? ''}`);
      if (Date.now() > deadline) throw new Error(`[${this.o.name}] ${what} not reached in ${timeoutMs} ms; last status ${this.lastStatus?.phase}`);
      await sleep(100);
    }
  }

  private async runPoint(handle: WorkflowHandle<typeof bakeoff>, p: KillPoint): Promise<KillRecord> {
    const worker = this.worker!;
    const deadline = Date.now() + (this.o.pointTimeoutMs ?? 180_000);
    let delayMs = 0;
    if (p.at) {
      for (;;) {
        const st = await this.status(handle, p);
        if (st && matches(p.at, st)) break;
        if (st && rank(st.phase, st.stage?.index) > rank(p.at.phase, p.at.stage)) {
          throw new Error(`[${this.o.name}] the bakeoff went past kill point '${p.name}' (now ${st.phase}${st.stage ? ` stage ${st.stage.index + 1}` : ''}) before it was hit${st.failure ? `: ${st.failure}` : ''}`);
        }
        if (!worker.alive) throw new Error(`[${this.o.name}] worker died before kill point '${p.name}':\n${worker.output.slice(-10).join('\n')}`);
        if (Date.now() > deadline) throw new Error(`[${this.o.name}] kill point '${p.name}' not reached; last phase ${st?.phase ?? this.lastStatus?.phase}`);
        await sleep(100);
      }
      delayMs = Math.round(this.o.random() * (p.maxDelayMs ?? 0));
      await sleep(delayMs);
      await this.status(handle);
      await worker.kill('SIGKILL');
    } else {
      // The worker kills itself at the planned point; keep the status fresh meanwhile.
      while (worker.alive) {
        await Promise.race([this.status(handle, p), worker.exited]);
        if (this.lastStatus && isTerminal(this.lastStatus.phase)) throw new Error(`[${this.o.name}] bakeoff ended (${this.lastStatus.phase}) before self-crash '${p.name}'`);
        if (Date.now() > deadline) throw new Error(`[${this.o.name}] self-crash '${p.name}' did not happen; last phase ${this.lastStatus?.phase}`);
        await sleep(100);
      }
    }
    const st = this.lastStatus!;
    const pointer = (await readPointer(this.o.world.db, this.o.lane))!;
    const rollbackRequested = [...this.triggered].some((t) => t.trigger?.requestsRollback);
    const fit = pointerFitsPhase(pointer, st, this.o.ramp, this.o.world.baseline.table, this.o.candidateTable, rollbackRequested);
    return {
      point: p.name,
      how: p.at ? 'sigkill-external' : 'sigkill-self',
      phase: `${st.phase}${st.stage ? ` (stage ${st.stage.index + 1})` : ''}`,
      delayMs,
      pointer,
      pointerOk: fit.ok,
      pointerWhy: fit.why,
      selfCrashLine: p.at ? undefined : worker.output.find((l) => l.includes('CHAOS: SIGKILL')),
    };
  }

  /** One line per history event (time, type, activity, attempt) beside the worker log: what to read
   *  when a run is slow or a check fails. Follows continue-as-new. */
  async dumpTimeline(handle: WorkflowHandle<typeof bakeoff>): Promise<void> {
    const lines: string[] = [];
    let runId: string | undefined = (handle as { firstExecutionRunId?: string }).firstExecutionRunId;
    const names = new Map<string, string>();
    while (runId) {
      const history = await this.o.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
      let next: string | undefined;
      for (const e of history.events ?? []) {
        const t = new Date(Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6)).toISOString();
        const type = String(temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? e.eventType).replace('EVENT_TYPE_', '');
        const sched = e.activityTaskScheduledEventAttributes;
        if (sched) names.set(String(e.eventId), sched.activityType?.name ?? '?');
        const started = e.activityTaskStartedEventAttributes;
        const ref = started?.scheduledEventId ?? e.activityTaskCompletedEventAttributes?.scheduledEventId ?? e.activityTaskFailedEventAttributes?.scheduledEventId ?? e.activityTaskTimedOutEventAttributes?.scheduledEventId;
        const activity = sched ? sched.activityType?.name : ref ? names.get(String(ref)) : undefined;
        lines.push(`${t} ${type}${activity ? ` ${activity}` : ''}${started?.attempt ? ` attempt ${started.attempt}` : ''}`);
        next = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? next;
      }
      runId = next;
    }
    fs.writeFileSync(path.join(this.o.world.logDir, `${this.o.name}.timeline.txt`), lines.join('\n') + '\n');
  }

  async close(): Promise<void> {
    await this.worker?.kill('SIGKILL');
  }
}
