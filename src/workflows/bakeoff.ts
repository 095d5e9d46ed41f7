// The bakeoff workflow: takes a candidate retrieval config from lock to promotion or rollback over
// (by default) 48 hours of canary, surviving worker and server restarts. Deterministic code only:
// every side effect is an activity, every clock is workflow time. See docs/workflow.md for the
// phase diagram, the message semantics and the versioning (patched()) rules.
import { defineSearchAttributeKey, SearchAttributeType, type RetryPolicy, type SearchAttributeUpdatePair } from '@temporalio/common';
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BakeoffActivities, LiveCheckResult, LockedConfig, ProbeResult } from '../activities/types';
import { NON_RETRYABLE_ERROR_TYPES } from './errors';
import { formatDuration } from './duration';
import { decidingGates, describeGate, judgeOffline, overallVerdict, probeGates } from './gates';
import {
  abortSignal,
  abortUpdate,
  AbortArgsSchema,
  approveSignal,
  approveUpdate,
  ApproveArgsSchema,
  extendSoakSignal,
  extendSoakUpdate,
  ExtendSoakArgsSchema,
  pauseSignal,
  pauseUpdate,
  PauseArgsSchema,
  promoteSignal,
  promoteUpdate,
  PromoteArgsSchema,
  resumeSignal,
  resumeUpdate,
  ResumeArgsSchema,
  rollbackSignal,
  rollbackUpdate,
  RollbackArgsSchema,
  SEARCH_ATTRIBUTE_CONFIG_HASH,
  SEARCH_ATTRIBUTE_PHASE,
  statusQuery,
  type BakeoffInput,
  type BakeoffInputRaw,
} from './messages';
import {
  isTerminal,
  type BakeoffEvent,
  type BakeoffResult,
  type BakeoffStatus,
  type Gate,
  type Phase,
  type Verdict,
} from './types';

// ---------------------------------------------------------------------------------------------
// Activity stubs, grouped by how long a step may take and how it fails.

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/**
 * How long a crashed worker can hold up a step before the server retries it elsewhere. The input's
 * `timeouts` overrides these (drills and the chaos tests compress them, like the soaks).
 */
const DEFAULT_TIMEOUTS = { step: 60_000, heartbeat: 5 * 60_000 };

function stepsFor(t: { step: number; heartbeat: number } = DEFAULT_TIMEOUTS) {
  return {
    /** Short database steps: retried until they succeed (the pointer must end up right). */
    quick: proxyActivities<BakeoffActivities>({ startToCloseTimeout: t.step, retry }),
    /** Data-plane steps: long, and they heartbeat so a dead worker is noticed within the heartbeat timeout. */
    heavy: proxyActivities<Pick<BakeoffActivities, 'shadowIngest' | 'evaluate' | 'runProbes'>>({
      startToCloseTimeout: '6h',
      heartbeatTimeout: t.heartbeat,
      retry: { ...retry, maximumAttempts: 5 },
    }),
    /**
     * A table copy is one SQL statement, so the activity heartbeats on a timer while it runs: a worker
     * that dies mid-copy is noticed within the heartbeat timeout, not after the 2 h start-to-close.
     */
    backup: proxyActivities<Pick<BakeoffActivities, 'backupLive'>>({
      startToCloseTimeout: '2h',
      heartbeatTimeout: t.heartbeat,
      retry: { ...retry, maximumAttempts: 5 },
    }),
  };
}

/** Notifications must never hold up or fail a bakeoff: few attempts, failures only logged. */
const notifier = proxyActivities<Pick<BakeoffActivities, 'notify'>>({
  startToCloseTimeout: '30s',
  retry: { ...retry, maximumAttempts: 3 },
});

const PHASE_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTE_PHASE, SearchAttributeType.KEYWORD);
const CONFIG_HASH_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTE_CONFIG_HASH, SearchAttributeType.KEYWORD);

/** Events kept in the status (and carried across continue-as-new). */
const MAX_EVENTS = 60;

// ---------------------------------------------------------------------------------------------
// State: everything here is plain data so it can be carried across continue-as-new.

interface CanaryProgress {
  stageIndex: number;
  /** The split of stageIndex is set and its soak clock runs. */
  started: boolean;
  soakMs: number;
  remainingMs: number;
  /** Workflow time up to which remainingMs is accounted. */
  lastTick: number;
  lastCheckAt: number;
  startedAt: number;
}

/** Saga: registered as steps complete, undone newest-first on rollback. */
interface Compensation {
  kind: 'undo-split';
  registeredAt: number;
  stage: number;
}

export interface BakeoffState {
  raw: BakeoffInputRaw;
  input: BakeoffInput | null;
  locked: LockedConfig | null;
  status: BakeoffStatus;
  compensations: Compensation[];
  canary: CanaryProgress | null;
  promote: { requested: boolean; full: boolean; by?: string };
  approval: { by: string; reason?: string } | null;
  /** Counter for notification idempotency keys. */
  notifySeq: number;
}

function initialState(raw: BakeoffInputRaw): BakeoffState {
  return {
    raw,
    input: null,
    locked: null,
    compensations: [],
    canary: null,
    promote: { requested: false, full: false },
    approval: null,
    notifySeq: 0,
    status: {
      workflowId: workflowInfo().workflowId,
      requestedBy: typeof raw?.requestedBy === 'string' ? raw.requestedBy : 'unknown',
      lane: typeof raw?.baseline?.lane === 'string' ? raw.baseline.lane : 'default',
      configHash: null,
      ingestRunId: null,
      shadowTable: null,
      dryRun: raw?.dryRun === true,
      phase: 'locking',
      verdict: null,
      paused: false,
      baseline: null,
      backupId: null,
      stage: null,
      stagesTotal: Array.isArray(raw?.ramp) ? raw.ramp.length : 3,
      gates: [],
      ingest: null,
      evaluation: null,
      live: { checks: 0, passes: 0, fails: 0, inconclusive: 0, failStreak: 0, inconclusiveStreak: 0, lastAt: null, lastVerdict: null, lastGates: [] },
      awaiting: null,
      approvals: [],
      rollback: null,
      promotion: null,
      failure: null,
      runs: 1,
      events: [],
      reportId: null,
      asOf: 0,
    },
  };
}

/** Thrown inside the main scope to leave it for the rollback path (the request is already recorded). */
class RollbackRequested extends Error {
  override name = 'RollbackRequested';
}

function reject(message: string): never {
  throw ApplicationFailure.create({ type: 'InvalidRequest', message, nonRetryable: true });
}

// ---------------------------------------------------------------------------------------------

export async function bakeoff(raw: BakeoffInputRaw, carried?: BakeoffState): Promise<BakeoffResult> {
  const run = new BakeoffRun(carried ?? initialState(raw));
  return run.execute();
}

class BakeoffRun {
  private mainScope: CancellationScope | null = null;
  /** Activity stubs with this bakeoff's timeouts (the defaults until its input is validated). */
  private steps = stepsFor();
  private wakeSeq = 0;
  private readonly pending: Promise<void>[] = [];

  constructor(private readonly s: BakeoffState) {
    this.registerHandlers();
    if (s.input) this.steps = stepsFor(s.input.timeouts); // carried across continue-as-new
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  async execute(): Promise<BakeoffResult> {
    const s = this.s;
    let next: 'finished' | 'continue-as-new' = 'finished';
    if (!isTerminal(s.status.phase)) {
      this.mainScope = new CancellationScope();
      try {
        // A rollback signal that arrived with (or before) the first workflow task was recorded by
        // its handler before this scope existed, so nothing cancelled it: honour it before any step.
        next = await this.mainScope.run(() =>
          s.status.rollback && patched('rollback-before-first-step') ? Promise.resolve<'finished'>('finished') : this.proceed(),
        );
      } catch (err) {
        if (!s.status.rollback) this.onError(err);
      }
      this.mainScope = null;
      if (s.status.rollback && !isTerminal(s.status.phase)) {
        await CancellationScope.nonCancellable(() => this.rollback());
      }
    }
    await Promise.all(this.pending);
    // Updates (e.g. a rollbackUpdate waiting for completion) must answer before the run ends.
    await condition(allHandlersFinished);
    if (next === 'continue-as-new') {
      s.status.runs += 1;
      this.event('note', `continuing as new (run ${s.status.runs}) to keep history bounded`);
      return continueAsNew<typeof bakeoff>(s.raw, s);
    }
    return { outcome: this.outcome(), status: this.snapshot() };
  }

  /** A failure that is not a rollback: before the pointer moved it stops the bakeoff as 'failed'
   *  (nothing is cleaned up, so the operator can inspect it); after, it rolls back. */
  private onError(err: unknown): void {
    const message = errorMessage(err);
    if (this.s.compensations.length > 0) {
      this.requestRollback({ by: 'bakeoff', reason: `error during ${this.s.status.phase}: ${message}`, automatic: true });
    } else {
      this.s.status.failure = `${this.s.status.phase}: ${message}`;
      this.setPhase('failed', `failed during ${this.s.status.phase}: ${message}`);
      this.pending.push(this.writeReport());
    }
  }

  private outcome(): BakeoffResult['outcome'] {
    const st = this.s.status;
    if (st.dryRun && st.phase !== 'rolled-back') return st.phase === 'done' && st.verdict === 'pass' ? 'dry-run-passed' : 'dry-run-failed';
    if (st.phase === 'done') return 'promoted';
    if (st.phase === 'rolled-back') return 'rolled-back';
    return 'failed';
  }

  private async proceed(): Promise<'finished' | 'continue-as-new'> {
    const s = this.s;
    if (!s.input) await this.prepare();
    if (s.status.verdict === null) {
      const verdict = await this.judge();
      if (verdict === 'fail' && !s.input!.dryRun) {
        const why = decidingGates(s.status.gates).map(describeGate).join('; ');
        s.status.failure = `gate failed: ${why}`;
        this.setPhase('failed', `gates failed: ${why}`);
        await this.writeReport();
        return 'finished';
      }
      if (verdict === 'inconclusive' && !s.input!.dryRun) {
        const why = decidingGates(s.status.gates).map(describeGate).join('; ');
        await this.awaitOperator(`offline gates inconclusive: ${why}`, 'canary');
      }
    }
    const canary = await this.canary();
    if (canary === 'continue-as-new') return canary;
    await this.promote();
    return 'finished';
  }

  // ---- locking → backing-up → ingesting → evaluating → probing ---------------------------------

  private async prepare(): Promise<void> {
    const s = this.s;
    this.setPhase('locking', `validating input and locking the candidate config (requested by ${s.status.requestedBy})`);
    const input = await this.steps.quick.validateInput(s.raw);
    s.input = input;
    this.steps = stepsFor(input.timeouts);
    s.status.lane = input.baseline.lane;
    s.status.dryRun = input.dryRun;
    s.status.stagesTotal = input.ramp.length;
    s.status.requestedBy = input.requestedBy;
    const locked = await this.steps.quick.lockConfig({ candidate: input.candidate, requestedBy: input.requestedBy });
    s.locked = locked;
    s.status.configHash = locked.config_hash;
    s.status.ingestRunId = locked.ingest_run_id;
    this.upsertSearchAttributes();

    const pointer = await this.steps.quick.readPointer({ lane: input.baseline.lane });
    if (input.baseline.expectConfigHash && pointer.liveConfigHash !== input.baseline.expectConfigHash) {
      throw ApplicationFailure.create({
        type: 'BaselineMismatch',
        nonRetryable: true,
        message: `lane '${pointer.lane}' serves config ${pointer.liveConfigHash ?? '(unknown)'}, not the expected ${input.baseline.expectConfigHash}`,
      });
    }
    s.status.baseline = {
      lane: pointer.lane,
      table: pointer.liveTable,
      index: pointer.liveIndex,
      configHash: pointer.liveConfigHash,
      pointerVersion: pointer.version,
    };

    if (input.dryRun) {
      this.event('note', 'dry run: no backup (nothing will change), shadow ingest into a scratch table');
    } else {
      this.setPhase('backing-up', `snapshotting ${pointer.liveTable} and the pointer row of lane ${pointer.lane}`);
      const ref = await this.steps.backup.backupLive({ lane: pointer.lane, workflowId: s.status.workflowId, by: input.requestedBy, idempotencyKey: this.key('backup') });
      s.status.backupId = ref.backupId;
      this.event('note', `backup ${ref.backupId}: ${ref.rows} rows of ${ref.sourceTable}, pointer v${ref.pointer.version}`);
    }

    const table = input.dryRun ? scratchTableFor(locked) : locked.shadow_table;
    s.status.shadowTable = table;
    this.setPhase('ingesting', `shadow ingest of ${locked.ingest_run_id} into ${table}`);
    s.status.ingest = await this.steps.heavy.shadowIngest({ locked, table, dryRun: input.dryRun });

    this.setPhase('evaluating', `evaluating candidate ${table} and baseline ${pointer.liveTable} on ${input.evalCases.ref}`);
    const evalBase = { caseSetRef: input.evalCases.ref, k: input.evalCases.k };
    const candidateIndex = s.status.ingest.index?.ivf ?? null;
    const [candidate, baseline] = await Promise.all([
      this.steps.heavy.evaluate({ ...evalBase, side: 'candidate', table, index: candidateIndex, runLabel: `${s.status.workflowId}/candidate` }),
      this.steps.heavy.evaluate({ ...evalBase, side: 'baseline', table: pointer.liveTable, index: pointer.liveIndex, runLabel: `${s.status.workflowId}/baseline` }),
    ]);
    s.status.evaluation = { candidate, baseline };

    this.setPhase('probing', `probing ${table}`);
    const probes: ProbeResult[] = await this.steps.heavy.runProbes({ locked, table, index: candidateIndex });
    s.status.gates = [...judgeOffline(candidate, baseline, input.thresholds.offline), ...probeGates(probes)];
  }

  private async judge(): Promise<Verdict> {
    const s = this.s;
    const gates = s.status.gates;
    const verdict = overallVerdict(gates);
    s.status.verdict = verdict;
    this.setPhase('gating', `${gates.length} gates: ${count(gates, 'pass')} pass, ${count(gates, 'inconclusive')} inconclusive, ${count(gates, 'fail')} fail → ${verdict}`);
    for (const g of gates) this.notify('gate', describeGate(g), g);
    return verdict;
  }

  // ---- operator decisions ----------------------------------------------------------------------

  /** Waits for approve (continue), abort/rollback (cancels this scope) or the deadline (aborts). */
  private async awaitOperator(reason: string, resumesAt: 'canary' | 'promoting'): Promise<void> {
    const s = this.s;
    this.tick();
    const now = Date.now();
    const previous = s.status.phase;
    s.approval = null;
    s.status.awaiting = { reason, since: now, deadline: now + s.input!.operatorDeadline, resumesAt };
    this.setPhase('awaiting-operator', `${reason} — approve or abort within ${formatDuration(s.input!.operatorDeadline)}`);
    this.notify('operator', `decision needed: ${reason}`);
    const decided = await condition(() => s.approval !== null, s.input!.operatorDeadline);
    s.status.awaiting = null;
    if (!decided) {
      this.requestRollback({ by: 'bakeoff', automatic: true, reason: `no approve/abort within ${formatDuration(s.input!.operatorDeadline)}: ${reason}` });
      throw new RollbackRequested();
    }
    const a = s.approval!;
    s.approval = null;
    this.event('update', `approved by ${a.by}${a.reason ? `: ${a.reason}` : ''}`, a.by);
    if (s.canary) s.canary.lastTick = Date.now(); // the soak clock stood still while waiting
    this.setPhase(previous === 'awaiting-operator' ? resumesAt : previous, `continuing after approval by ${a.by}`);
  }

  // ---- canary ramp -----------------------------------------------------------------------------

  private async canary(): Promise<'done' | 'continue-as-new'> {
    const s = this.s;
    const input = s.input!;
    const ramp = input.ramp;
    if (!s.canary) s.canary = { stageIndex: 0, started: false, soakMs: 0, remainingMs: 0, lastTick: 0, lastCheckAt: 0, startedAt: 0 };
    const c = s.canary;
    while (c.stageIndex < ramp.length) {
      const i = c.stageIndex;
      const stage = ramp[i];
      if (!c.started) {
        if (s.status.paused) {
          this.event('note', `holding before stage ${i + 1}: paused`);
          await condition(() => !s.status.paused);
        }
        const soakMs = input.dryRun ? Math.min(stage.soak, input.dryRunSoak) : stage.soak;
        if (input.dryRun) {
          this.event('note', `dry run: stage ${i + 1} would send ${stage.percent}% to ${s.status.shadowTable}; pointer untouched`);
        } else {
          // Registered before the call: a split applied but not acknowledged must still be undone.
          if (!s.compensations.some((x) => x.kind === 'undo-split')) {
            s.compensations.push({ kind: 'undo-split', registeredAt: Date.now(), stage: i });
          }
          await this.steps.quick.setTrafficSplit({
            lane: input.baseline.lane,
            candidateTable: s.status.shadowTable!,
            candidateIndex: s.status.ingest?.index?.ivf ?? null,
            candidateConfigHash: s.locked!.config_hash,
            percent: stage.percent,
            by: `bakeoff:${s.status.workflowId}`,
            reason: `stage ${i + 1}/${ramp.length}`,
            idempotencyKey: this.key(`split-${i}`),
          });
        }
        const now = Date.now();
        Object.assign(c, { started: true, soakMs, remainingMs: soakMs, lastTick: now, lastCheckAt: now, startedAt: now });
        this.setPhase('canary', `stage ${i + 1}/${ramp.length}: ${stage.percent}% for ${formatDuration(soakMs)}`);
      }

      const soak = await this.soak(i);
      if (soak === 'continue-as-new') return soak;
      c.stageIndex += 1;
      c.started = false;
      if (s.promote.full) break;
      // A stage boundary is a natural, cheap point to start a fresh history.
      if (c.stageIndex < ramp.length) return 'continue-as-new';
    }
    return 'done';
  }

  /** Soaks stage i: live checks every interval until the soak clock runs out (or promote). */
  private async soak(i: number): Promise<'soaked' | 'continue-as-new'> {
    const s = this.s;
    const c = s.canary!;
    const input = s.input!;
    const interval = input.dryRun ? Math.min(input.checkInterval, Math.max(1_000, c.soakMs)) : input.checkInterval;
    for (;;) {
      this.tick();
      if (s.promote.requested) {
        s.promote.requested = false;
        this.event('signal', `promote${s.promote.full ? ' --full' : ''}: skipping the rest of stage ${i + 1}'s soak`, s.promote.by);
        return 'soaked';
      }
      if (!this.clockStopped() && c.remainingMs <= 0) {
        if (Date.now() > c.lastCheckAt) await this.liveCheck(i); // the last partial window counts too
        return 'soaked';
      }
      const info = workflowInfo();
      if (info.historyLength >= input.continueAsNewAfterEvents || info.continueAsNewSuggested) return 'continue-as-new';

      const now = Date.now();
      const untilCheck = c.lastCheckAt + interval - now;
      const wait = this.clockStopped() ? untilCheck : Math.min(untilCheck, c.remainingMs);
      if (wait > 0) {
        const seen = this.wakeSeq;
        await condition(() => this.wakeSeq !== seen, wait);
      }
      this.tick();
      if (Date.now() >= c.lastCheckAt + interval) await this.liveCheck(i);
    }
  }

  private async liveCheck(i: number): Promise<void> {
    const s = this.s;
    const c = s.canary!;
    const input = s.input!;
    const now = Date.now();
    const r: LiveCheckResult = await this.steps.quick.checkLiveKpis({ lane: input.baseline.lane, fromMs: c.lastCheckAt, toMs: now, thresholds: input.thresholds.live });
    c.lastCheckAt = now;
    const live = s.status.live;
    const changed = live.lastVerdict !== r.verdict;
    live.checks += 1;
    live.lastAt = now;
    live.lastVerdict = r.verdict;
    live.lastGates = r.gates;
    if (r.verdict === 'pass') {
      live.passes += 1;
      live.failStreak = 0;
      live.inconclusiveStreak = 0;
    } else if (r.verdict === 'fail') {
      live.fails += 1;
      live.failStreak += 1;
      live.inconclusiveStreak = 0;
    } else {
      live.inconclusive += 1;
      live.inconclusiveStreak += 1;
    }
    if (changed) {
      const why = r.verdict === 'pass' ? 'all live gates pass' : decidingGates(r.gates).map(describeGate).join('; ');
      this.event('live-check', `stage ${i + 1}: live check ${r.verdict}: ${why}`);
      this.notify('live-check', `stage ${i + 1}: live check ${r.verdict}: ${why}`);
    }
    if (input.dryRun) return; // judged and reported, never acted on
    if (r.verdict === 'fail' && live.failStreak >= input.thresholds.live.failureLimit) {
      const breached = decidingGates(r.gates)[0];
      this.requestRollback({
        by: 'bakeoff',
        automatic: true,
        reason: `live gate ${breached.name} breached in stage ${i + 1} (${input.ramp[i].percent}%): ${breached.reason}`,
      });
      throw new RollbackRequested();
    }
    if (r.verdict === 'inconclusive' && live.inconclusiveStreak >= input.thresholds.live.inconclusiveLimit) {
      live.inconclusiveStreak = 0;
      const why = decidingGates(r.gates).map(describeGate).join('; ');
      await this.awaitOperator(`${input.thresholds.live.inconclusiveLimit} inconclusive live checks in stage ${i + 1}: ${why}`, 'canary');
    }
  }

  /** The soak clock stands still while paused or while an operator decides. */
  private clockStopped(): boolean {
    return this.s.status.paused || this.s.status.phase === 'awaiting-operator';
  }

  /** Accounts the soak time elapsed since the last tick (unless the clock is stopped). */
  private tick(): void {
    const c = this.s.canary;
    if (!c || !c.started) return;
    const now = Date.now();
    if (!this.clockStopped()) c.remainingMs = Math.max(0, c.remainingMs - (now - c.lastTick));
    c.lastTick = now;
  }

  // ---- promotion -------------------------------------------------------------------------------

  private async promote(): Promise<void> {
    const s = this.s;
    const input = s.input!;
    this.setPhase('promoting', input.dryRun ? 'dry run complete: writing the report' : `promoting ${s.status.shadowTable} to live`);
    if (!input.dryRun) {
      // Once started, a promotion completes; a rollback asked for meanwhile runs right after it.
      const r = await CancellationScope.nonCancellable(() =>
        this.steps.quick.promoteCandidate({
          lane: input.baseline.lane,
          candidateTable: s.status.shadowTable!,
          candidateIndex: s.status.ingest?.index?.ivf ?? null,
          candidateConfigHash: s.locked!.config_hash,
          workflowId: s.status.workflowId,
          by: s.promote.by ?? `bakeoff:${s.status.workflowId}`,
          idempotencyKey: this.key('promote'),
        }),
      );
      if (s.status.rollback) throw new RollbackRequested();
      s.compensations = [];
      s.status.promotion = {
        by: s.promote.by ?? 'bakeoff',
        at: Date.now(),
        liveTable: r.pointer.liveTable,
        archivedTable: r.archivedTable,
        pointerVersion: r.pointer.version,
      };
      this.notify('promotion', `${r.pointer.liveTable} is live (pointer v${r.pointer.version}); ${r.archivedTable} archived`);
    }
    const finalPhase: Phase = input.dryRun && s.status.verdict === 'fail' ? 'failed' : 'done';
    if (finalPhase === 'failed') s.status.failure = `dry run: gate failed: ${decidingGates(s.status.gates).map(describeGate).join('; ')}`;
    this.setPhase(finalPhase, input.dryRun ? `dry run finished, verdict ${s.status.verdict}` : 'promoted');
    await CancellationScope.nonCancellable(() => this.writeReport());
  }

  // ---- rollback --------------------------------------------------------------------------------

  private requestRollback(r: { by: string; reason: string; automatic: boolean }): void {
    const s = this.s;
    if (isTerminal(s.status.phase)) return;
    if (s.status.rollback) {
      // Idempotent: the first request wins; a second one is recorded, not applied.
      if (!r.automatic) this.event('signal', `duplicate rollback from ${r.by} ignored: already rolling back for ${s.status.rollback.by}`, r.by);
      return;
    }
    s.status.rollback = { ...r, requestedAt: Date.now() };
    this.event('signal', `rollback requested by ${r.by}: ${r.reason}`, r.by);
    this.mainScope?.cancel();
    this.wake();
  }

  /** Runs in a non-cancellable scope: compensations newest-first, then the smoke eval, then the record. */
  private async rollback(): Promise<void> {
    const s = this.s;
    const rb = s.status.rollback!;
    this.tick();
    s.status.awaiting = null;
    this.setPhase('rolling-back', `rolling back (by ${rb.by}): ${rb.reason}`);
    const lane = s.status.lane;
    const by = `${rb.by} (rollback)`;
    for (const comp of [...s.compensations].reverse()) {
      if (comp.kind === 'undo-split' && s.status.baseline) {
        const baseline = s.status.baseline;
        const p = await this.steps.quick.restoreBaseline({
          lane,
          baseline: { table: baseline.table, index: baseline.index, configHash: baseline.configHash },
          by,
          reason: rb.reason,
          idempotencyKey: this.key('rollback-restore'),
        });
        rb.pointerRestoredAt = Date.now();
        rb.pointerVersion = p.version;
        const caches = await this.steps.quick.clearCaches({ lane, by, reason: rb.reason, idempotencyKey: this.key('rollback-caches') });
        rb.cacheEpoch = caches.cacheEpoch;
      }
    }
    const touched = s.compensations.length > 0;
    s.compensations = [];
    if (touched && s.input && s.status.baseline) {
      try {
        const smoke = await this.steps.heavy.evaluate({
          side: 'baseline',
          table: s.status.baseline.table,
          index: s.status.baseline.index,
          caseSetRef: s.input.evalCases.ref,
          k: s.input.evalCases.k,
          maxCases: s.input.evalCases.smokeCases,
          runLabel: `${s.status.workflowId}/smoke-after-rollback`,
        });
        rb.smoke = { ok: smoke.cases > 0 && smoke.metrics.hit_rate > 0, hitRate: smoke.metrics.hit_rate, cases: smoke.cases };
      } catch (err) {
        rb.smoke = { ok: false, error: errorMessage(err) };
      }
      this.event('note', `smoke eval of baseline after rollback: ${rb.smoke.ok ? 'ok' : 'NOT ok'}${rb.smoke.hitRate !== undefined ? ` (hit rate ${rb.smoke.hitRate} on ${rb.smoke.cases} cases)` : ` (${rb.smoke.error})`}`);
    } else {
      this.event('note', 'the pointer never moved: nothing to restore');
    }
    rb.completedAt = Date.now();
    this.setPhase('rolled-back', `rolled back by ${rb.by}: ${rb.reason}`);
    this.notify('rollback', `rolled back by ${rb.by}: ${rb.reason}`);
    await this.writeReport();
  }

  // ---- messages --------------------------------------------------------------------------------

  private registerHandlers(): void {
    const s = this.s;
    setHandler(statusQuery, () => this.snapshot());

    // rollback: a signal is never dropped for a malformed payload — rolling back is the safe side.
    setHandler(rollbackSignal, (args) => {
      const p = RollbackArgsSchema.safeParse(args);
      const a = p.success ? p.data : { by: safeText((args as { by?: unknown })?.by) ?? 'unknown', reason: safeText((args as { reason?: unknown })?.reason) ?? '(no reason given)' };
      if (isTerminal(s.status.phase)) return this.ignored('rollback', a.by, `bakeoff already ${s.status.phase}`);
      this.requestRollback({ by: a.by, reason: a.reason, automatic: false });
    });
    setHandler(
      rollbackUpdate,
      async (args) => {
        const a = RollbackArgsSchema.parse(args);
        this.requestRollback({ by: a.by, reason: a.reason, automatic: false });
        await condition(() => isTerminal(s.status.phase));
        return this.snapshot();
      },
      {
        validator: (args) => {
          const p = RollbackArgsSchema.safeParse(args);
          if (!p.success) reject(`rollback: ${issuesOf(p.error)}`);
          if (s.status.phase === 'done') reject('rollback rejected: the bakeoff is done (candidate promoted); start a new bakeoff of the old config');
          if (s.status.phase === 'failed') reject('rollback rejected: the bakeoff failed before moving the pointer; nothing to roll back');
        },
      },
    );

    const pause = (by?: string, reason?: string) => {
      this.tick();
      if (!s.status.paused) {
        s.status.paused = true;
        s.status.pausedBy = by;
        this.event('signal', `paused${by ? ` by ${by}` : ''}${reason ? `: ${reason}` : ''}; the soak clock stops`, by);
        this.notify('operator', `paused${by ? ` by ${by}` : ''}`);
      }
      this.wake();
    };
    const pauseProblem = (): string | null => (isTerminal(s.status.phase) || s.status.phase === 'rolling-back' ? `bakeoff is ${s.status.phase}` : null);
    setHandler(pauseSignal, (args) => {
      const p = PauseArgsSchema.safeParse(args);
      const problem = p.success ? pauseProblem() : issuesOf(p.error);
      if (problem || !p.success) return this.ignored('pause', p.success ? p.data.by : undefined, problem!);
      pause(p.data.by, p.data.reason);
    });
    setHandler(pauseUpdate, (args) => {
      const a = PauseArgsSchema.parse(args);
      pause(a.by, a.reason);
      return this.snapshot();
    }, { validator: (args) => this.validate(PauseArgsSchema, args, 'pause', pauseProblem) });

    const resume = (by?: string) => {
      this.tick();
      if (s.status.paused) {
        s.status.paused = false;
        s.status.pausedBy = undefined;
        this.event('signal', `resumed${by ? ` by ${by}` : ''}; the soak clock runs again`, by);
        this.notify('operator', `resumed${by ? ` by ${by}` : ''}`);
      }
      this.wake();
    };
    const resumeProblem = (): string | null => (isTerminal(s.status.phase) ? `bakeoff is ${s.status.phase}` : null);
    setHandler(resumeSignal, (args) => {
      const p = ResumeArgsSchema.safeParse(args);
      const problem = p.success ? resumeProblem() : issuesOf(p.error);
      if (problem || !p.success) return this.ignored('resume', p.success ? p.data.by : undefined, problem!);
      resume(p.data.by);
    });
    setHandler(resumeUpdate, (args) => {
      resume(ResumeArgsSchema.parse(args).by);
      return this.snapshot();
    }, { validator: (args) => this.validate(ResumeArgsSchema, args, 'resume', resumeProblem) });

    const promote = (by?: string, full?: boolean) => {
      s.promote = { requested: true, full: s.promote.full || full === true, by: by ?? s.promote.by };
      this.wake();
    };
    const promoteProblem = (): string | null => {
      if (isTerminal(s.status.phase) || s.status.phase === 'rolling-back' || s.status.phase === 'promoting') return `bakeoff is ${s.status.phase}`;
      if (s.status.paused) return 'the bakeoff is paused: resume it before promoting';
      if (s.status.phase === 'awaiting-operator') return 'the bakeoff awaits an operator decision: approve or abort it';
      if (s.status.phase !== 'canary') return `promote skips the rest of a canary soak, and the bakeoff is still ${s.status.phase}`;
      return null;
    };
    setHandler(promoteSignal, (args) => {
      const p = PromoteArgsSchema.safeParse(args);
      const problem = p.success ? promoteProblem() : issuesOf(p.error);
      if (problem || !p.success) return this.ignored('promote', p.success ? p.data.by : undefined, problem!);
      promote(p.data.by, p.data.full);
    });
    setHandler(promoteUpdate, (args) => {
      const a = PromoteArgsSchema.parse(args);
      promote(a.by, a.full);
      return this.snapshot();
    }, { validator: (args) => this.validate(PromoteArgsSchema, args, 'promote', promoteProblem) });

    const extend = (ms: number, by?: string) => {
      this.tick();
      const c = s.canary!;
      c.remainingMs += ms;
      this.event('signal', `soak of stage ${c.stageIndex + 1} extended by ${formatDuration(ms)}${by ? ` by ${by}` : ''}`, by);
      this.wake();
    };
    const extendProblem = (): string | null => {
      if (isTerminal(s.status.phase) || s.status.phase === 'rolling-back' || s.status.phase === 'promoting') return `bakeoff is ${s.status.phase}`;
      if (!s.canary?.started) return `no soak is running (phase ${s.status.phase})`;
      return null;
    };
    setHandler(extendSoakSignal, (args) => {
      const p = ExtendSoakArgsSchema.safeParse(args);
      const problem = p.success ? extendProblem() : issuesOf(p.error);
      if (problem || !p.success) return this.ignored('extendSoak', p.success ? p.data.by : undefined, problem!);
      extend(p.data.duration, p.data.by);
    });
    setHandler(extendSoakUpdate, (args) => {
      const a = ExtendSoakArgsSchema.parse(args);
      extend(a.duration, a.by);
      return this.snapshot();
    }, { validator: (args) => this.validate(ExtendSoakArgsSchema, args, 'extendSoak', extendProblem) });

    const approve = (by: string, reason?: string) => {
      s.approval = { by, reason };
      s.status.approvals.push({ by, reason, at: Date.now() });
      this.wake();
    };
    const approveProblem = (): string | null =>
      s.status.phase === 'awaiting-operator' && s.status.awaiting ? null : `nothing awaits approval (phase ${s.status.phase})`;
    setHandler(approveSignal, (args) => {
      const p = ApproveArgsSchema.safeParse(args);
      const problem = p.success ? approveProblem() : issuesOf(p.error);
      if (problem || !p.success) return this.ignored('approve', p.success ? p.data.by : undefined, problem!);
      approve(p.data.by, p.data.reason);
    });
    setHandler(approveUpdate, (args) => {
      const a = ApproveArgsSchema.parse(args);
      approve(a.by, a.reason);
      return this.snapshot();
    }, { validator: (args) => this.validate(ApproveArgsSchema, args, 'approve', approveProblem) });

    const abort = (by: string, reason: string) => this.requestRollback({ by, reason: `aborted: ${reason}`, automatic: false });
    const abortProblem = (): string | null => (isTerminal(s.status.phase) || s.status.phase === 'rolling-back' ? `bakeoff is ${s.status.phase}` : null);
    setHandler(abortSignal, (args) => {
      const p = AbortArgsSchema.safeParse(args);
      const problem = p.success ? abortProblem() : issuesOf(p.error);
      if (problem || !p.success) return this.ignored('abort', p.success ? p.data.by : undefined, problem!);
      abort(p.data.by, p.data.reason);
    });
    setHandler(abortUpdate, async (args) => {
      const a = AbortArgsSchema.parse(args);
      abort(a.by, a.reason);
      await condition(() => isTerminal(s.status.phase));
      return this.snapshot();
    }, { validator: (args) => this.validate(AbortArgsSchema, args, 'abort', abortProblem) });
  }

  private validate(schema: { safeParse(v: unknown): { success: true } | { success: false; error: { issues: ZodIssueLike[] } } }, args: unknown, name: string, problem: () => string | null): void {
    const p = schema.safeParse(args);
    if (!p.success) reject(`${name}: ${issuesOf(p.error)}`);
    const why = problem();
    if (why) reject(`${name} rejected: ${why}`);
  }

  private ignored(name: string, by: string | undefined, why: string): void {
    this.event('signal', `ignored ${name} signal${by ? ` from ${by}` : ''}: ${why}`, by);
  }

  private wake(): void {
    this.wakeSeq += 1;
  }

  // ---- status, events, notifications -----------------------------------------------------------

  private snapshot(): BakeoffStatus {
    const s = this.s;
    const c = s.canary;
    const input = s.input;
    let stage: BakeoffStatus['stage'] = null;
    if (c && c.started && input) {
      const stopped = this.clockStopped();
      // Queries must not mutate state: compute the running clock without ticking it.
      const remaining = stopped ? c.remainingMs : Math.max(0, c.remainingMs - (Date.now() - c.lastTick));
      stage = {
        index: c.stageIndex,
        percent: input.ramp[c.stageIndex].percent,
        soakMs: c.soakMs,
        remainingMs: remaining,
        endsAt: stopped ? null : Date.now() + remaining,
        startedAt: c.startedAt,
      };
    }
    return { ...s.status, stage, asOf: Date.now() };
  }

  private setPhase(phase: Phase, message: string): void {
    const s = this.s;
    s.status.phase = phase;
    this.event('phase', `${phase}: ${message}`);
    this.upsertSearchAttributes();
    this.notify('phase', message);
    log.info(`bakeoff ${s.status.workflowId} ${phase}: ${message}`);
  }

  private event(kind: BakeoffEvent['kind'], message: string, by?: string): void {
    const events = this.s.status.events;
    events.push({ at: Date.now(), kind, message, ...(by ? { by } : {}) });
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
  }

  private upsertSearchAttributes(): void {
    const s = this.s;
    if ((s.input?.searchAttributes ?? s.raw?.searchAttributes) === false) return;
    const pairs: SearchAttributeUpdatePair[] = [{ key: PHASE_KEY, value: s.status.phase }];
    if (s.status.configHash) pairs.push({ key: CONFIG_HASH_KEY, value: s.status.configHash });
    upsertSearchAttributes(pairs);
  }

  /** Fire-and-forget from the workflow's point of view; awaited before the run ends. */
  private notify(event: 'phase' | 'gate' | 'live-check' | 'operator' | 'rollback' | 'promotion', message: string, gate?: Gate): void {
    const s = this.s;
    const idempotencyKey = this.key(`notify-${s.notifySeq++}`);
    const call = CancellationScope.nonCancellable(() =>
      notifier.notify({
        workflowId: s.status.workflowId,
        webhookUrl: s.input?.notifyWebhookUrl,
        event,
        phase: s.status.phase,
        message,
        gate,
        dryRun: s.status.dryRun,
        idempotencyKey,
      }),
    ).then(
      () => undefined,
      (err) => {
        this.event('note', `notification failed (${event}): ${errorMessage(err)}`);
      },
    );
    this.pending.push(call);
  }

  private async writeReport(): Promise<void> {
    const s = this.s;
    try {
      const ref = await this.steps.quick.writeReport({ workflowId: s.status.workflowId, status: this.snapshot(), idempotencyKey: this.key(`report-${s.status.phase}`) });
      s.status.reportId = ref.reportId;
    } catch (err) {
      this.event('note', `report not written: ${errorMessage(err)}`);
    }
  }

  /** Same for every attempt and replay of a step, distinct across bakeoffs (even of one config). */
  private key(step: string): string {
    const info = workflowInfo();
    return `${info.workflowId}/${info.firstExecutionRunId}/${step}`;
  }
}

// ---------------------------------------------------------------------------------------------

interface ZodIssueLike {
  path: PropertyKey[];
  message: string;
}

function issuesOf(err: { issues: ZodIssueLike[] }): string {
  return err.issues.map((i) => `${i.path.map(String).join('.') || '(args)'}: ${i.message}`).join('; ');
}

function count(gates: Gate[], v: Verdict): number {
  return gates.filter((g) => g.verdict === v).length;
}

function safeText(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim().slice(0, 1000) : undefined;
}

/** The innermost message of an activity/application failure, for status and reports. */
function errorMessage(err: unknown): string {
  if (isCancellation(err)) return 'cancelled';
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  while (e && e.cause) {
    e = e.cause as { message?: string; cause?: unknown };
    if (e?.message) message = e.message;
  }
  return message;
}

/** Dry runs write to a scratch table so nothing the serving path reads ever changes. */
function scratchTableFor(locked: LockedConfig): string {
  return `scratch_${locked.chunk_version}_${locked.config_hash.slice(0, 8)}`;
}
