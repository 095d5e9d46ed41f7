// The bakeoff workflow: takes a candidate retrieval config from lock to promotion or rollback over
// (by default) 48 hours of canary, surviving worker and server restarts. Deterministic code only:
// every side effect is an activity, every clock is workflow time. See docs/workflow.md for the
// phase diagram, the message semantics and the versioning (patched()) rules.
import { defineSearchAttributeKey, SearchAttributeType, type RetryPolicy, type SearchAttributeUpdatePair } from '@temporalio/common';
import {
  ActivityCancellationType,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BakeoffActivities, EvalReport, LiveCheckResult, LockedConfig, PointerState, ProbeResult } from '../activities/types';
import { NON_RETRYABLE_ERROR_TYPES } from './errors';
import { dataSteps, summarizedActivities } from './activity-proxies';
import { operatorTimerSummary, soakTimerSummary } from './summaries';
import { SHARDED_INGEST_PATCH, shardedIngest } from './shard-ingest';
import { currentDetails } from './current-details';
import { formatDuration } from './duration';
import { registerActions, safeText, type ActionSpec } from './actions';
import { decidingGates, describeGate, judgeOffline, overallVerdict, pointEstimatesOnly, probeGates } from './gates';
import { emptySide } from './latency-histogram';
import type { WindowEvidence } from './live-evidence';
import { checkTraffic, mirrorsFullStage, setFullStageMirror } from './full-stage-mirror';
import { earlyLookGate, logLatencyRule, recentWindowGate } from './judge-patches';
import { initialJudgeState, judgeCheck, startStage, type LiveDecision, type LiveJudgeState } from './live-judge';
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
  SEARCH_ATTRIBUTE_OUTCOME,
  SEARCH_ATTRIBUTE_PHASE,
  statusQuery,
  type BakeoffInput,
  type BakeoffInputRaw,
  type ShadowStage,
} from './messages';
import { canTransition, IllegalPhaseTransition } from './phases';
import { initialSoak, SoakClock, type SoakProgress } from './soak-clock';
import { decideByStreak, recordCheck } from './streak-decision';
import { emptyMirrorPool, mirrorSummary, overlapGate, poolMirror, shadowDecision, type MirrorPool } from './shadow-gates';
import {
  isTerminal,
  type ActionRecord,
  type BakeoffEvent,
  type BakeoffResult,
  type BakeoffStatus,
  type Gate,
  type Phase,
  type RollbackRecord,
  type ShadowStatus,
  type Verdict,
} from './types';

/** patched() id: the corpus is fingerprinted on the data plane right after lockConfig (older histories replay without it). */
const CORPUS_LOCK_PATCH = 'corpus-lock';

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
    quick: summarizedActivities<BakeoffActivities>({ startToCloseTimeout: t.step, retry }),
    /**
     * Data-plane steps: long, and they heartbeat so a dead worker is noticed within the heartbeat
     * timeout. They run on the data workers' queue (./activity-proxies, patch 'data-task-queue').
     */
    heavy: dataSteps(
      { startToCloseTimeout: '6h', heartbeatTimeout: t.heartbeat, retry: { ...retry, maximumAttempts: 5 } },
      ['lockCorpus', 'shadowIngest', 'ingestShard', 'buildIndexes', 'evaluate', 'evaluatePair', 'runProbes'],
    ),
    /**
     * A table copy is one SQL statement, so the activity heartbeats on a timer while it runs: a worker
     * that dies mid-copy is noticed within the heartbeat timeout, not after the 2 h start-to-close.
     */
    backup: summarizedActivities<Pick<BakeoffActivities, 'backupLive'>>({
      startToCloseTimeout: '2h',
      heartbeatTimeout: t.heartbeat,
      retry: { ...retry, maximumAttempts: 5 },
    }),
    /**
     * The traffic split (patch 'fenced-split'): a rollback that cancels it waits until the activity
     * has finished or been refused by the fence, so a late split can never undo the rollback.
     */
    split: summarizedActivities<Pick<BakeoffActivities, 'setTrafficSplit'>>({
      startToCloseTimeout: t.step,
      heartbeatTimeout: Math.min(t.step, 30_000),
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry,
    }),
    /**
     * The shadow stage's mirror (patch 'shadow-stage'): like the split, a rollback that cancels it
     * waits until it has finished, so a late setMirror can never land after the clearMirror.
     */
    mirror: summarizedActivities<Pick<BakeoffActivities, 'setMirror'>>({
      startToCloseTimeout: t.step,
      heartbeatTimeout: Math.min(t.step, 30_000),
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry,
    }),
  };
}

/** Notifications must never hold up or fail a bakeoff: few attempts, failures only logged. */
const notifier = summarizedActivities<Pick<BakeoffActivities, 'notify'>>({
  startToCloseTimeout: '30s',
  retry: { ...retry, maximumAttempts: 3 },
});

const PHASE_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTE_PHASE, SearchAttributeType.KEYWORD);
const CONFIG_HASH_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTE_CONFIG_HASH, SearchAttributeType.KEYWORD);
const OUTCOME_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTE_OUTCOME, SearchAttributeType.KEYWORD);

/** Events kept in the status (and carried across continue-as-new). */
const MAX_EVENTS = 60;
/** Entries of the full action log (issue 12 item 8): every operator action of even a long bakeoff. */
const MAX_ACTIONS = 2_000;

/** How a step, stage or run ends: go on with what follows, or hand over to a fresh run. */
type Next = 'finished' | 'continue-as-new';
/** How a check leaves its soak loop once it has acted (rollback, operator): the judge's own words. */
type CheckNext = Extract<LiveDecision['action'], 'advance' | 'continue'>;

// ---------------------------------------------------------------------------------------------
// State: everything here is plain data so it can be carried across continue-as-new.

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
  canary: SoakProgress | null;
  /**
   * by: who asked to skip a soak; promotedBy: who the final promotion is credited to — a human only
   * when their promote led straight to it (--full, or the last stage's soak), else the bakeoff.
   */
  promote: { requested: boolean; full: boolean; by?: string; promotedBy?: string };
  approval: { by: string; reason?: string } | null;
  /**
   * The anytime-valid live judge's pooled evidence (patch 'anytime-valid-judge'); absent: this
   * bakeoff's checks follow the old per-window streak rules.
   */
  judge?: LiveJudgeState;
  /** The shadow stage's progress (patch 'shadow-stage'; absent: no shadow stage started). */
  shadow?: ShadowProgress;
  /** Counter for notification idempotency keys. */
  notifySeq: number;
}

/** The shadow stage's own soak clock, judge and pooled mirror comparisons (plain data). */
interface ShadowProgress {
  soak: SoakProgress;
  judge: LiveJudgeState;
  pool: MirrorPool;
  /** setMirror was asked for (set before the call: a mirror set but not acknowledged is still cleared). */
  mirrorSet: boolean;
  cleared: boolean;
  done: boolean;
}

/**
 * What the prepare phase establishes (input validated, config locked, candidate ingested). Every
 * phase after it takes this value, so none of them reads a nullable field of the state.
 */
interface Prepared {
  input: BakeoffInput;
  locked: LockedConfig;
  /** The candidate as the pointer names it: the shadow (a dry run's scratch) table and its serving index. */
  candidate: { table: string; index: string | null; configHash: string };
}

/** The Prepared value of a state whose prepare phase is done (e.g. one carried across continue-as-new). */
function preparedOf(s: BakeoffState): Prepared {
  if (!s.input || !s.locked || !s.status.shadowTable) throw new Error('bakeoff state is not prepared (a code bug)');
  const candidate = { table: s.status.shadowTable, index: s.status.ingest?.index?.ivf ?? null, configHash: s.locked.config_hash };
  return { input: s.input, locked: s.locked, candidate };
}

/** The shadow stage's status as the mirror is set (its clock not started yet). */
function shadowStatusOf(cfg: ShadowStage, st: ShadowProgress): ShadowStatus {
  return {
    percent: cfg.percent,
    soakMs: cfg.soak,
    remainingMs: cfg.soak,
    startedAt: null,
    mirrorSetAt: Date.now(),
    mirrorClearedAt: null,
    live: { checks: 0, passes: 0, fails: 0, inconclusive: 0, failStreak: 0, inconclusiveStreak: 0, lastAt: null, lastVerdict: null, lastGates: [] },
    mirror: mirrorSummary(st.pool),
    outcome: null,
  };
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
      actions: [],
      lease: null,
      reportId: null,
      asOf: 0,
    },
  };
}

/** Thrown inside the main scope to leave it for the rollback path (the request is already recorded). */
class RollbackRequested extends Error {
  override name = 'RollbackRequested';
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
  /** Notifications still running (the run may only end once they are done). */
  private pendingOpen = 0;

  constructor(private readonly s: BakeoffState) {
    this.registerHandlers();
    if (s.input) this.steps = stepsFor(s.input.timeouts); // carried across continue-as-new
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  async execute(): Promise<BakeoffResult> {
    const s = this.s;
    let next: Next = 'finished';
    if (!isTerminal(s.status.phase)) {
      this.mainScope = new CancellationScope();
      try {
        // A rollback signal that arrived with (or before) the first workflow task was recorded by
        // its handler before this scope existed, so nothing cancelled it: honour it before any step.
        next = await this.mainScope.run(() =>
          s.status.rollback && patched('rollback-before-first-step') ? Promise.resolve<Next>('finished') : this.proceed(),
        );
      } catch (err) {
        if (err instanceof IllegalPhaseTransition) throw err; // a code bug: fail the task, not the bakeoff
        if (!s.status.rollback) this.onError(err);
      }
      this.mainScope = null;
      await this.rollbackIfRequested();
    }
    next = await this.endRun(next);
    if (next === 'continue-as-new') {
      s.status.runs += 1;
      this.event('note', `continuing as new (run ${s.status.runs}) to keep history bounded`);
      return continueAsNew<typeof bakeoff>(s.raw, s);
    }
    return { outcome: this.outcome(), status: this.snapshot() };
  }

  /** The one way out of rollback: after the main scope, whichever way it was left. */
  private async rollbackIfRequested(): Promise<void> {
    const s = this.s;
    const rb = s.status.rollback;
    if (rb && !isTerminal(s.status.phase)) {
      await CancellationScope.nonCancellable(() => this.rollback(rb));
    }
  }

  /**
   * Waits for notifications and updates before the run ends. Since patch 'rollback-at-run-end' a
   * rollback or abort that arrives in this window (its update would otherwise wait for a terminal
   * phase nothing reaches, and later rollbacks be ignored as duplicates) rolls back instead of
   * continuing as new. A terminal bakeoff releases its lane lease here.
   */
  private async endRun(next: Next): Promise<Next> {
    const s = this.s;
    if (next === 'continue-as-new') this.event('note', `run ${s.status.runs} ending: waiting for ${this.pendingOpen} notification(s) and any update before continuing as new`);
    if (!patched('rollback-at-run-end')) {
      await Promise.all(this.pending);
      // Updates (e.g. a rollbackUpdate waiting for completion) must answer before the run ends.
      await condition(allHandlersFinished);
      return next;
    }
    const rollbackDue = () => s.status.rollback !== null && !isTerminal(s.status.phase);
    for (;;) {
      await condition(() => rollbackDue() || (this.pendingOpen === 0 && allHandlersFinished()));
      if (!rollbackDue()) break;
      next = 'finished';
      await this.rollbackIfRequested();
    }
    if (isTerminal(s.status.phase)) {
      await this.clearMirrorIfSet(`bakeoff ${s.status.phase}`);
      await this.releaseLease();
      await condition(() => this.pendingOpen === 0 && allHandlersFinished());
    }
    return next;
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
    // A dry run's shadow stage never acts, but a failed one fails the dry run's outcome (its exit code).
    if (st.dryRun && st.phase !== 'rolled-back') return st.phase === 'done' && st.verdict === 'pass' && st.shadow?.outcome !== 'failed' ? 'dry-run-passed' : 'dry-run-failed';
    if (st.phase === 'done') return 'promoted';
    if (st.phase === 'rolled-back') return 'rolled-back';
    return 'failed';
  }

  /**
   * The phase diagram of docs/workflow.md, top to bottom: lock → backup → shadow ingest → evaluate →
   * probes (prepare) → gate → [shadow stage] → canary stages → promote. One method per phase; every
   * phase change goes through setPhase and the table of phases.ts. Any phase leaves for rollback the
   * one way, requestRollback (which cancels this scope); execute() rolls back once the scope is left.
   */
  private async proceed(): Promise<Next> {
    const s = this.s;
    const p = s.input ? preparedOf(s) : await this.prepare();
    if (s.status.verdict === null && !(await this.gate(p))) return 'finished';
    // Absent `shadow`: no patched() call, so the command sequence is exactly as before (replay test).
    if (p.input.shadow && !s.shadow?.done && patched('shadow-stage')) await this.shadowStage(p, p.input.shadow);
    if ((await this.canary(p)) === 'continue-as-new') return 'continue-as-new';
    await this.promote(p);
    return 'finished';
  }

  // ---- locking → backing-up → ingesting → evaluating → probing ---------------------------------

  /** The offline half of the diagram; returns what every later phase works on. */
  private async prepare(): Promise<Prepared> {
    const { input, locked, pointer } = await this.lock();
    await this.backup(input, pointer);
    const p = await this.shadowIngest(input, locked);
    const evaluation = await this.evaluate(p, pointer);
    await this.probe(p, evaluation);
    return p;
  }

  /** locking: validates the input, takes the lane lease, locks the candidate config, reads the baseline. */
  private async lock(): Promise<{ input: BakeoffInput; locked: LockedConfig; pointer: PointerState }> {
    const s = this.s;
    this.setPhase('locking', `validating input and locking the candidate config (requested by ${s.status.requestedBy})`);
    const input = await this.steps.quick.validateInput(s.raw);
    s.input = input;
    this.steps = stepsFor(input.timeouts);
    s.status.lane = input.baseline.lane;
    s.status.dryRun = input.dryRun;
    s.status.stagesTotal = input.ramp.length;
    s.status.requestedBy = input.requestedBy;
    // One bakeoff owns a lane at a time. A dry run changes nothing, so it neither takes nor waits for it.
    if (!input.dryRun && patched('lane-lease')) {
      const lease = await this.steps.quick.claimLane({ lane: input.baseline.lane, workflowId: s.status.workflowId, by: input.requestedBy });
      s.status.lease = { lane: lease.lane, since: Date.now(), ...(lease.tookOverFrom ? { tookOverFrom: lease.tookOverFrom } : {}) };
      this.event('note', `lane ${lease.lane} leased to this bakeoff${lease.tookOverFrom ? ` (taken over from ${lease.tookOverFrom})` : ''}`);
    }
    let locked = await this.steps.quick.lockConfig({ candidate: input.candidate, requestedBy: input.requestedBy });
    // The corpus it will ingest, fingerprinted where it lives (the data plane; the control worker may
    // have no copy) and locked in, so ingest refuses any other and the reports name it.
    if (patched(CORPUS_LOCK_PATCH)) {
      const corpus = await this.steps.heavy.lockCorpus({ locked });
      locked = { ...locked, corpus_snapshot: corpus.snapshot };
      s.status.corpus = corpus;
      this.event('note', `corpus ${corpus.dataset} locked: ${corpus.documents} documents, snapshot sha256 ${corpus.snapshot}`);
    }
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
    return { input, locked, pointer };
  }

  /** backing-up: snapshots the live table and the pointer row (a dry run changes nothing: no backup). */
  private async backup(input: BakeoffInput, pointer: PointerState): Promise<void> {
    const s = this.s;
    if (input.dryRun) {
      this.event('note', 'dry run: no backup (nothing will change), shadow ingest into a scratch table');
      return;
    }
    this.setPhase('backing-up', `snapshotting ${pointer.liveTable} and the pointer row of lane ${pointer.lane}`);
    const ref = await this.steps.backup.backupLive({ lane: pointer.lane, workflowId: s.status.workflowId, by: input.requestedBy, idempotencyKey: this.key('backup') });
    s.status.backupId = ref.backupId;
    this.event('note', `backup ${ref.backupId}: ${ref.rows} rows of ${ref.sourceTable}, pointer v${ref.pointer.version}`);
  }

  /** ingesting: fills the candidate's shadow table (a dry run's scratch table); from here on it is Prepared. */
  private async shadowIngest(input: BakeoffInput, locked: LockedConfig): Promise<Prepared> {
    const s = this.s;
    const table = input.dryRun ? scratchTableFor(locked) : locked.shadow_table;
    s.status.shadowTable = table;
    this.setPhase('ingesting', `shadow ingest of ${locked.ingest_run_id} into ${table}`);
    // ingestParallelism 1 (every bakeoff before it): no patched() call, the command sequence as before.
    const ingest =
      input.ingestParallelism > 1 && patched(SHARDED_INGEST_PATCH)
        ? (await shardedIngest(this.steps.heavy, { locked, table, dryRun: input.dryRun }, { shards: input.ingestParallelism, parallelism: input.ingestParallelism })).ingest
        : await this.steps.heavy.shadowIngest({ locked, table, dryRun: input.dryRun });
    s.status.ingest = ingest;
    return { input, locked, candidate: { table, index: ingest.index?.ivf ?? null, configHash: locked.config_hash } };
  }

  /** evaluating: candidate and baseline on the same cases, side by side. */
  private async evaluate(p: Prepared, pointer: PointerState): Promise<{ candidate: EvalReport; baseline: EvalReport }> {
    const s = this.s;
    const { input, candidate: c } = p;
    this.setPhase('evaluating', `evaluating candidate ${c.table} and baseline ${pointer.liveTable} on ${input.evalCases.ref}`);
    const evalBase = { caseSetRef: input.evalCases.ref, k: input.evalCases.k };
    // One activity times both sides case by case on one worker (patch 'paired-evaluation'): two
    // activities could run on two data workers, and the latency gate would compare machines.
    if (patched('paired-evaluation')) {
      s.status.evaluation = await this.steps.heavy.evaluatePair({
        ...evalBase,
        candidate: { table: c.table, index: c.index, runLabel: `${s.status.workflowId}/candidate` },
        baseline: { table: pointer.liveTable, index: pointer.liveIndex, runLabel: `${s.status.workflowId}/baseline` },
      });
      return s.status.evaluation;
    }
    const [candidate, baseline] = await Promise.all([
      this.steps.heavy.evaluate({ ...evalBase, side: 'candidate', table: c.table, index: c.index, runLabel: `${s.status.workflowId}/candidate` }),
      this.steps.heavy.evaluate({ ...evalBase, side: 'baseline', table: pointer.liveTable, index: pointer.liveIndex, runLabel: `${s.status.workflowId}/baseline` }),
    ]);
    s.status.evaluation = { candidate, baseline };
    return s.status.evaluation;
  }

  /** probing: absolute checks of the candidate; then the offline and probe gates are set for gate(). */
  private async probe(p: Prepared, evaluation: { candidate: EvalReport; baseline: EvalReport }): Promise<void> {
    const s = this.s;
    this.setPhase('probing', `probing ${p.candidate.table}`);
    const probes: ProbeResult[] = await this.steps.heavy.runProbes({ locked: p.locked, table: p.candidate.table, index: p.candidate.index });
    const { candidate, baseline } = evaluation;
    // Paired per-case intervals (patch 'paired-offline-gates'); a run judged before replays on point estimates.
    const [c, b] = patched('paired-offline-gates') ? [candidate, baseline] : [pointEstimatesOnly(candidate), pointEstimatesOnly(baseline)];
    s.status.gates = [...judgeOffline(c, b, p.input.thresholds.offline), ...probeGates(probes)];
  }

  // ---- gating ------------------------------------------------------------------------------------

  /**
   * gating: the overall verdict of the offline gates. Fail ends the bakeoff (a dry run goes on, to
   * report); inconclusive asks an operator. Returns whether the bakeoff goes on.
   */
  private async gate(p: Prepared): Promise<boolean> {
    const s = this.s;
    const gates = s.status.gates;
    const verdict = overallVerdict(gates);
    s.status.verdict = verdict;
    this.setPhase('gating', `${gates.length} gates: ${count(gates, 'pass')} pass, ${count(gates, 'inconclusive')} inconclusive, ${count(gates, 'fail')} fail → ${verdict}`);
    for (const g of gates) this.notify('gate', describeGate(g), g);
    if (p.input.dryRun || verdict === 'pass') return true;
    const why = decidingGates(gates).map(describeGate).join('; ');
    if (verdict === 'fail') {
      s.status.failure = `gate failed: ${why}`;
      this.setPhase('failed', `gates failed: ${why}`);
      await this.writeReport();
      return false;
    }
    await this.awaitOperator(p, `offline gates inconclusive: ${why}`, 'canary');
    return true;
  }

  // ---- operator decisions ----------------------------------------------------------------------

  /** Waits for approve (continue), abort/rollback (cancels this scope) or the deadline (aborts). */
  private async awaitOperator(p: Prepared, reason: string, resumesAt: 'canary' | 'promoting'): Promise<void> {
    const s = this.s;
    const deadline = p.input.operatorDeadline;
    this.tick();
    const now = Date.now();
    const previous = s.status.phase;
    s.approval = null;
    s.status.awaiting = { reason, since: now, deadline: now + deadline, resumesAt };
    this.setPhase('awaiting-operator', `${reason} — approve or abort within ${formatDuration(deadline)}`);
    this.notify('operator', `decision needed: ${reason}`);
    const decided = await condition(() => s.approval !== null, deadline, { summary: operatorTimerSummary(now + deadline) });
    s.status.awaiting = null;
    // Set by the approve handler while this waited, which TypeScript's narrowing cannot see.
    const a = s.approval as BakeoffState['approval'];
    if (!decided || a === null) this.rollbackNow({ by: 'bakeoff', automatic: true, reason: `no approve/abort within ${formatDuration(deadline)}: ${reason}` });
    s.approval = null;
    this.event('update', `approved by ${a.by}${a.reason ? `: ${a.reason}` : ''}`, a.by);
    if (s.canary) new SoakClock(s.canary).resumeAt(Date.now()); // the soak clock stood still while waiting
    this.setPhase(previous === 'awaiting-operator' ? resumesAt : previous, `continuing after approval by ${a.by}`);
  }

  // ---- shadow stage (issue 14) ------------------------------------------------------------------

  /**
   * Mirrors shadow.percent of requests to the candidate (never served) for shadow.soak and judges the
   * mirrored requests like a canary stage at 50 % (both sides see the same requests), plus the
   * overlap@10 gate. Fail rolls back before any split; not proven asks an operator; a dry run judges
   * and reports only. The mirror is cleared at the stage's end, and on every other exit by
   * clearMirrorIfSet (rollback, endRun).
   */
  private async shadowStage(p: Prepared, cfg: ShadowStage): Promise<void> {
    const s = this.s;
    const { input, candidate } = p;
    // One more "stage" of the judge's error budget: alpha / (gates × (ramp + 1)) per gate here.
    const st = (s.shadow ??= { soak: initialSoak(), judge: startStage(initialJudgeState({ latencyRule: logLatencyRule(), recentWindow: false, earlyLook: false }), 0), pool: emptyMirrorPool(), mirrorSet: false, cleared: false, done: false });
    const clock = new SoakClock(st.soak);
    if (!st.soak.started) {
      if (s.status.paused) {
        this.event('note', 'holding before the shadow stage: paused');
        await condition(() => !s.status.paused);
      }
      st.mirrorSet = true;
      s.status.shadow = shadowStatusOf(cfg, st);
      await this.steps.mirror.setMirror({
        lane: input.baseline.lane,
        workflowId: s.status.workflowId,
        table: candidate.table,
        index: candidate.index,
        configHash: candidate.configHash,
        percent: cfg.percent,
        by: `bakeoff:${s.status.workflowId}`,
        reason: 'shadow stage',
        idempotencyKey: this.key('shadow-mirror'),
      });
      clock.start(Date.now(), cfg.soak);
      s.status.shadow.startedAt = Date.now();
      this.setPhase('shadow', `mirroring ${cfg.percent}% of requests to ${candidate.table} for ${formatDuration(cfg.soak)}${input.dryRun ? ' (dry run: judged, never acted on)' : ''}; no user sees its answers`);
    }
    const interval = cfg.checkInterval ?? input.checkInterval;
    for (;;) {
      this.tick();
      if (clock.expired(this.clockStopped())) {
        await this.shadowCheck(p, cfg, st, true);
        break;
      }
      await this.sleepUntilDue(clock, interval, `shadow stage: mirroring ${cfg.percent} % for ${formatDuration(cfg.soak)}`);
      if (clock.checkDue(Date.now(), interval)) {
        const stageEnd = clock.expired(this.clockStopped());
        if ((await this.shadowCheck(p, cfg, st, stageEnd)) === 'advance' || stageEnd) break;
      }
    }
    await this.clearMirrorIfSet('shadow stage ended');
    st.done = true;
  }

  /** One shadow check: pools the span's mirrored evidence and comparisons, judges, and acts. */
  private async shadowCheck(p: Prepared, cfg: ShadowStage, st: ShadowProgress, stageEnd: boolean): Promise<CheckNext> {
    const s = this.s;
    const { input } = p;
    // Set with the mirror, before the stage's clock starts (and carried with it across continue-as-new).
    const shadow = (s.status.shadow ??= shadowStatusOf(cfg, st));
    const clock = new SoakClock(st.soak);
    const now = Date.now();
    let w: WindowEvidence = { fromMs: clock.p.lastCheckAt, toMs: now, baseline: emptySide(), candidate: emptySide() };
    if (now > clock.p.lastCheckAt) {
      const r = await this.steps.quick.checkLiveKpis({ lane: input.baseline.lane, fromMs: clock.p.lastCheckAt, toMs: now, thresholds: input.thresholds.live, traffic: 'mirror' });
      w = r.evidence ?? w;
      st.pool = poolMirror(st.pool, r.mirror);
      clock.checked(now);
    }
    const judged = judgeCheck(st.judge, w, { thresholds: input.thresholds.live, stages: input.ramp.length + 1, stageEnd, percent: 50 });
    st.judge = judged.state;
    const decision = shadowDecision(judged.decision, overlapGate(st.pool, input.thresholds.live.minSamples, cfg.minOverlapAt10), stageEnd);
    shadow.mirror = mirrorSummary(st.pool);
    const changed = recordCheck(shadow.live, now, decision.verdict, decision.gates);
    shadow.live.failStreak = judged.state.failStreak ?? 0;
    shadow.live.inconclusiveStreak = 0;
    if (changed || decision.action !== 'continue') {
      const pooled = `${judged.state.stage.candidate.requests}/${judged.state.stage.baseline.requests} mirror/live answers pooled`;
      const what = `shadow${stageEnd ? ' end' : ''}: check ${decision.verdict} (${pooled}) → ${decision.action}: ${decision.why}`;
      this.event('live-check', what);
      this.notify('live-check', what);
    }
    if (input.dryRun) {
      // Judged and reported, never acted on: the stage's pooled verdict at its end is its outcome.
      if (stageEnd) shadow.outcome = decision.verdict === 'pass' ? 'passed' : decision.verdict === 'fail' ? 'failed' : 'judged';
      return stageEnd ? 'advance' : 'continue';
    }
    if (decision.action === 'rollback') {
      shadow.outcome = 'failed';
      const breached = decision.gates.find((g) => g.verdict === 'fail') ?? decidingGates(decision.gates)[0];
      this.rollbackNow({ by: 'bakeoff', automatic: true, reason: `shadow gate ${breached.name} breached (mirrored ${cfg.percent}%): ${breached.reason}` });
    }
    if (decision.action === 'ask-operator' && stageEnd && cfg.onInconclusive === 'canary') {
      // Too little mirrored traffic must not hold a real bakeoff: the canary judges real traffic with
      // the same gates. Inputs recorded before the field existed lack it and still ask (replay-safe).
      shadow.outcome = 'unproven';
      this.event('note', `shadow stage ended without proof (${decision.why}); on to the canary, which judges real traffic (shadow.onInconclusive: canary)`);
      return 'advance';
    }
    if (decision.action === 'ask-operator') {
      await this.awaitOperator(p, `shadow stage: ${decision.why}`, 'canary');
      shadow.outcome = 'approved';
      return 'advance';
    }
    if (decision.action === 'advance') shadow.outcome = 'passed';
    return decision.action === 'advance' ? 'advance' : 'continue';
  }

  /** Stops mirroring (idempotent, non-cancellable); a no-op unless this bakeoff set a mirror. */
  private async clearMirrorIfSet(reason: string): Promise<void> {
    // The shadow stage's mirror, else the 100 % stage's (full-stage-mirror.ts): at most one is set.
    const shadowSet = !!this.s.shadow?.mirrorSet && !this.s.shadow.cleared;
    const st = shadowSet ? this.s.shadow : this.s.judge?.fullStageMirror;
    if (!st?.mirrorSet || st.cleared) return;
    try {
      await CancellationScope.nonCancellable(() =>
        this.steps.quick.clearMirror({
          lane: this.s.status.lane,
          workflowId: this.s.status.workflowId,
          by: `bakeoff:${this.s.status.workflowId}`,
          reason,
          idempotencyKey: this.key(shadowSet ? 'shadow-mirror-clear' : 'full-stage-mirror-clear'),
        }),
      );
      st.cleared = true;
      if (shadowSet && this.s.status.shadow) this.s.status.shadow.mirrorClearedAt = Date.now();
      this.event('note', `mirror cleared: ${reason}`);
    } catch (err) {
      this.event('note', `mirror not cleared (${reason}): ${errorMessage(err)}`);
    }
  }

  // ---- canary ramp -----------------------------------------------------------------------------

  /** canary: the ramp's stages, each a split then a soak; ends at a stage boundary to continue as new. */
  private async canary(p: Prepared): Promise<Next> {
    const s = this.s;
    const { input, candidate } = p;
    const ramp = input.ramp;
    s.canary ??= initialSoak();
    const clock = new SoakClock(s.canary);
    while (clock.p.stageIndex < ramp.length) {
      const i = clock.p.stageIndex;
      const stage = ramp[i];
      if (!clock.p.started) {
        if (s.status.paused) {
          this.event('note', `holding before stage ${i + 1}: paused`);
          await condition(() => !s.status.paused);
        }
        // The judge is chosen at a stage start, so one stage is never judged by both.
        if (s.judge || patched('anytime-valid-judge')) s.judge = startStage(s.judge ?? initialJudgeState({ latencyRule: logLatencyRule(), recentWindow: recentWindowGate(), earlyLook: earlyLookGate() }), i);
        const soakMs = input.dryRun ? Math.min(stage.soak, input.dryRunSoak) : stage.soak;
        if (input.dryRun) {
          this.event('note', `dry run: stage ${i + 1} would send ${stage.percent}% to ${candidate.table}; pointer untouched`);
        } else {
          // Registered before the call: a split applied but not acknowledged must still be undone.
          if (!s.compensations.some((x) => x.kind === 'undo-split')) {
            s.compensations.push({ kind: 'undo-split', registeredAt: Date.now(), stage: i });
          }
          const split = patched('fenced-split') ? this.steps.split : this.steps.quick;
          await split.setTrafficSplit({
            lane: input.baseline.lane,
            candidateTable: candidate.table,
            candidateIndex: candidate.index,
            candidateConfigHash: candidate.configHash,
            percent: stage.percent,
            by: `bakeoff:${s.status.workflowId}`,
            reason: `stage ${i + 1}/${ramp.length}`,
            workflowId: s.status.workflowId,
            idempotencyKey: this.key(`split-${i}`),
          });
          if (mirrorsFullStage(s.judge, stage.percent, input.dryRun)) {
            const m = { lane: input.baseline.lane, workflowId: s.status.workflowId, table: candidate.table, index: candidate.index, configHash: candidate.configHash };
            const by = `bakeoff:${s.status.workflowId}`;
            await setFullStageMirror(s.judge, (x) => this.steps.mirror.setMirror(x), { ...m, percent: 100, by, reason: `stage ${i + 1}: concurrent baseline`, idempotencyKey: this.key(`full-stage-mirror-${i}`) }, (x) => this.event('note', x));
          }
        }
        clock.start(Date.now(), soakMs);
        this.setPhase('canary', `stage ${i + 1}/${ramp.length}: ${stage.percent}% for ${formatDuration(soakMs)}`);
      }

      if ((await this.soak(p, clock, i)) === 'continue-as-new') return 'continue-as-new';
      await this.clearMirrorIfSet(`stage ${i + 1} ended`); // a no-op unless the 100 % stage mirrors
      clock.advance();
      if (s.promote.full) break;
      // A stage boundary is a natural, cheap point to start a fresh history.
      if (clock.p.stageIndex < ramp.length) return 'continue-as-new';
    }
    return 'finished';
  }

  /** Soaks stage i: live checks every interval until the soak clock runs out (or promote). */
  private async soak(p: Prepared, clock: SoakClock, i: number): Promise<Next> {
    const s = this.s;
    const { input } = p;
    const interval = input.dryRun ? Math.min(input.checkInterval, Math.max(1_000, clock.p.soakMs)) : input.checkInterval;
    for (;;) {
      this.tick();
      if (s.promote.requested) {
        s.promote.requested = false;
        // Credit the promotion to the human only if their promote is what leads straight to it.
        s.promote.promotedBy = s.promote.full || i === input.ramp.length - 1 ? s.promote.by : undefined;
        this.event('signal', `promote${s.promote.full ? ' --full' : ''}: skipping the rest of stage ${i + 1}'s soak`, s.promote.by);
        return 'finished';
      }
      if (clock.expired(this.clockStopped())) {
        if (s.judge) {
          await this.judgedCheck(p, clock, s.judge, i, true);
        } else if (Date.now() > clock.p.lastCheckAt) {
          await this.liveCheck(p, clock, i); // the last partial window counts too
        }
        return 'finished';
      }
      const info = workflowInfo();
      if (info.historyLength >= input.continueAsNewAfterEvents || info.continueAsNewSuggested) return 'continue-as-new';

      await this.sleepUntilDue(clock, interval, `stage ${i + 1}/${input.ramp.length} soak: ${input.ramp[i].percent} % for ${formatDuration(clock.p.soakMs)}`);
      if (clock.checkDue(Date.now(), interval)) {
        if (!s.judge) {
          await this.liveCheck(p, clock, i);
        } else {
          // A check that finds the soak over is the stage's last: no second check on an empty span.
          const stageEnd = clock.expired(this.clockStopped());
          if ((await this.judgedCheck(p, clock, s.judge, i, stageEnd)) === 'advance' || stageEnd) return 'finished';
        }
      }
    }
  }

  /**
   * A check under the anytime-valid judge (live-judge.ts): pools the span since the last check into
   * the stage's evidence and acts on the decision — rollback, ask an operator (only at a stage end
   * when non-breach is not proven), advance, or keep soaking. At a stage end right after a check the
   * span is empty: the pooled evidence is judged without reading a new window.
   */
  private async judgedCheck(p: Prepared, clock: SoakClock, judge: LiveJudgeState, i: number, stageEnd: boolean): Promise<CheckNext> {
    const s = this.s;
    const { input } = p;
    const now = Date.now();
    let w: WindowEvidence = { fromMs: clock.p.lastCheckAt, toMs: now, baseline: emptySide(), candidate: emptySide() };
    if (now > clock.p.lastCheckAt) {
      const r = await this.steps.quick.checkLiveKpis({ lane: input.baseline.lane, fromMs: clock.p.lastCheckAt, toMs: now, thresholds: input.thresholds.live, traffic: checkTraffic(judge) });
      w = r.evidence ?? w; // a worker from before the poolable evidence reports none: nothing to pool
      clock.checked(now);
    }
    const { state, decision } = judgeCheck(judge, w, {
      thresholds: input.thresholds.live,
      // A shadow stage spends one stage's share of the error budget too: alpha still bounds the whole bakeoff.
      stages: input.ramp.length + (input.shadow ? 1 : 0),
      stageEnd,
      percent: input.ramp[i].percent,
    });
    s.judge = state;
    const live = s.status.live;
    const changed = recordCheck(live, now, decision.verdict, decision.gates);
    live.lastStage = i; // status data, not a command: no patch
    live.failStreak = state.failStreak ?? 0;
    live.inconclusiveStreak = 0; // no inconclusive streak: inconclusive mid-stage just keeps soaking
    const pooled = `${state.stage.candidate.requests}/${state.stage.baseline.requests} candidate/baseline requests pooled`;
    if (changed || decision.action !== 'continue') {
      const what = `stage ${i + 1}${stageEnd ? ' end' : ''}: live check ${decision.verdict} (${pooled}) → ${decision.action}: ${decision.why}`;
      this.event('live-check', what);
      this.notify('live-check', what);
    }
    if (input.dryRun) return stageEnd ? 'advance' : 'continue'; // judged and reported, never acted on
    if (decision.action === 'rollback') {
      const breached = decision.gates.find((g) => g.verdict === 'fail') ?? decidingGates(decision.gates)[0];
      this.rollbackNow({ by: 'bakeoff', automatic: true, reason: `live gate ${breached.name} breached in stage ${i + 1} (${input.ramp[i].percent}%): ${breached.reason}` });
    }
    if (decision.action === 'ask-operator') {
      await this.awaitOperator(p, `stage ${i + 1} (${input.ramp[i].percent}%): ${decision.why}`, 'canary');
      return 'advance'; // approved: the stage is done
    }
    return decision.action === 'advance' ? 'advance' : 'continue';
  }

  /** A check under the old per-window streak rules (bakeoffs started before 'anytime-valid-judge'). */
  private async liveCheck(p: Prepared, clock: SoakClock, i: number): Promise<void> {
    const s = this.s;
    const { input } = p;
    const now = Date.now();
    const r: LiveCheckResult = await this.steps.quick.checkLiveKpis({ lane: input.baseline.lane, fromMs: clock.p.lastCheckAt, toMs: now, thresholds: input.thresholds.live });
    clock.checked(now);
    const live = s.status.live;
    const changed = recordCheck(live, now, r.verdict, r.gates);
    live.lastStage = i;
    if (changed) {
      const why = r.verdict === 'pass' ? 'all live gates pass' : decidingGates(r.gates).map(describeGate).join('; ');
      this.event('live-check', `stage ${i + 1}: live check ${r.verdict}: ${why}`);
      this.notify('live-check', `stage ${i + 1}: live check ${r.verdict}: ${why}`);
    }
    if (input.dryRun) return; // judged and reported, never acted on
    const action = decideByStreak(live, r.verdict, input.thresholds.live);
    if (action === 'rollback') {
      const breached = decidingGates(r.gates)[0];
      this.rollbackNow({
        by: 'bakeoff',
        automatic: true,
        reason: `live gate ${breached.name} breached in stage ${i + 1} (${input.ramp[i].percent}%): ${breached.reason}`,
      });
    }
    if (action === 'ask-operator') {
      live.inconclusiveStreak = 0;
      const why = decidingGates(r.gates).map(describeGate).join('; ');
      await this.awaitOperator(p, `${input.thresholds.live.inconclusiveLimit} inconclusive live checks in stage ${i + 1}: ${why}`, 'canary');
    }
  }

  /** Sleeps until the next check is due or the soak runs out, waking early for any message; `what` soaks (the timer's UI summary). */
  private async sleepUntilDue(clock: SoakClock, interval: number, what: string): Promise<void> {
    const stopped = this.clockStopped();
    const wait = clock.waitMs(Date.now(), interval, stopped);
    if (wait > 0) {
      const seen = this.wakeSeq;
      const summary = soakTimerSummary(stopped ? `${what} (clock stopped)` : what, clock.remainingAt(Date.now(), stopped), wait);
      await condition(() => this.wakeSeq !== seen, wait, { summary });
    }
    this.tick();
  }

  /** The soak clock stands still while paused or while an operator decides. */
  private clockStopped(): boolean {
    return this.s.status.paused || this.s.status.phase === 'awaiting-operator';
  }

  /** Accounts the soak time elapsed since the last tick (unless the clock is stopped). */
  private tick(): void {
    if (this.s.canary) new SoakClock(this.s.canary).tick(Date.now(), this.clockStopped());
    if (this.s.shadow && !this.s.shadow.done) new SoakClock(this.s.shadow.soak).tick(Date.now(), this.clockStopped());
  }

  // ---- promotion -------------------------------------------------------------------------------

  /** promoting → done: the candidate goes live (a dry run only reports; its failed gates fail it here). */
  private async promote(p: Prepared): Promise<void> {
    const s = this.s;
    const { input, candidate } = p;
    this.setPhase('promoting', input.dryRun ? 'dry run complete: writing the report' : `promoting ${candidate.table} to live`);
    if (!input.dryRun) {
      // Once started, a promotion completes; a rollback asked for meanwhile runs right after it.
      const r = await CancellationScope.nonCancellable(() =>
        this.steps.quick.promoteCandidate({
          lane: input.baseline.lane,
          candidateTable: candidate.table,
          candidateIndex: candidate.index,
          candidateConfigHash: candidate.configHash,
          workflowId: s.status.workflowId,
          by: s.promote.promotedBy ?? `bakeoff:${s.status.workflowId}`,
          idempotencyKey: this.key('promote'),
        }),
      );
      if (s.status.rollback) throw new RollbackRequested();
      s.compensations = [];
      this.logAction({ action: 'promotion', via: 'automatic', by: s.promote.promotedBy ?? 'bakeoff', outcome: 'applied', note: `${r.pointer.liveTable} live at pointer v${r.pointer.version}` });
      s.status.promotion = {
        by: s.promote.promotedBy ?? 'bakeoff',
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

  /** Gives the lane back on every terminal path (idempotent; a lease never taken is not released). */
  private async releaseLease(): Promise<void> {
    const lease = this.s.status.lease;
    if (!lease || lease.releasedAt !== undefined) return;
    try {
      await CancellationScope.nonCancellable(() => this.steps.quick.releaseLane({ lane: lease.lane, workflowId: this.s.status.workflowId }));
      lease.releasedAt = Date.now();
      this.event('note', `lane ${lease.lane} released`);
    } catch (err) {
      this.event('note', `lane ${lease.lane} not released: ${errorMessage(err)}`);
    }
  }

  /**
   * The one way into rollback: records the request and cancels the main scope; execute() runs the
   * rollback once the scope is left (rollbackIfRequested). Returns why a request was not applied.
   */
  private requestRollback(r: { by: string; reason: string; automatic: boolean }): string | undefined {
    const s = this.s;
    if (isTerminal(s.status.phase)) return `bakeoff already ${s.status.phase}`;
    if (s.status.rollback) {
      // Idempotent: the first request wins; a second one is recorded, not applied.
      const why = `already rolling back for ${s.status.rollback.by}`;
      if (!r.automatic) this.event('signal', `duplicate rollback from ${r.by} ignored: ${why}`, r.by);
      return why;
    }
    s.status.rollback = { ...r, requestedAt: Date.now() };
    this.event('signal', `rollback requested by ${r.by}: ${r.reason}`, r.by);
    if (r.automatic) this.logAction({ action: 'rollback', via: 'automatic', by: r.by, reason: r.reason, outcome: 'applied' });
    this.mainScope?.cancel();
    this.wake();
    return undefined;
  }

  /** Inside the main scope: request the rollback and leave the scope at once. */
  private rollbackNow(r: { by: string; reason: string; automatic: boolean }): never {
    this.requestRollback(r);
    throw new RollbackRequested();
  }

  /** Runs in a non-cancellable scope: compensations newest-first, then the smoke eval, then the record. */
  private async rollback(rb: RollbackRecord): Promise<void> {
    const s = this.s;
    this.tick();
    s.status.awaiting = null;
    this.setPhase('rolling-back', `rolling back (by ${rb.by}): ${rb.reason}`);
    await this.clearMirrorIfSet(`rollback: ${rb.reason}`);
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
          workflowId: s.status.workflowId,
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
    setHandler(statusQuery, () => this.snapshot());
    registerActions(this.actions(), {
      snapshot: () => this.snapshot(),
      terminal: () => isTerminal(this.s.status.phase),
      identityRequired: () => patched('operator-identity'),
      record: (r) => this.logAction(r),
      ignored: (action, by, why, reason) => {
        this.event('signal', `ignored ${action} signal${by ? ` from ${by}` : ''}: ${why}`, by);
        this.logAction({ action, via: 'signal', by, reason, outcome: 'ignored', note: why });
      },
    });
  }

  /** The operator actions: the messages table of docs/workflow.md, one row each. */
  private actions(): ActionSpec<{ by?: string; reason?: string }>[] {
    const s = this.s;
    const phase = () => s.status.phase;
    const endedOrRollingBack = () => (isTerminal(phase()) || phase() === 'rolling-back' ? `bakeoff is ${phase()}` : null);
    const endedRollingBackOrPromoting = () => endedOrRollingBack() ?? (phase() === 'promoting' ? `bakeoff is ${phase()}` : null);
    const by = (who?: string) => (who ? ` by ${who}` : '');

    const rollback: ActionSpec<{ by: string; reason: string }> = {
      name: 'rollback',
      signal: rollbackSignal,
      update: rollbackUpdate,
      schema: RollbackArgsSchema,
      // A rollback signal is never dropped for a malformed payload: rolling back is the safe side.
      salvage: (raw) => ({ by: safeText((raw as { by?: unknown } | null)?.by) ?? 'unknown', reason: safeText((raw as { reason?: unknown } | null)?.reason) ?? '(no reason given)' }),
      problem: () => (isTerminal(phase()) ? `bakeoff already ${phase()}` : null),
      updateProblem: () => {
        if (phase() === 'done') return 'the bakeoff is done (candidate promoted); start a new bakeoff of the old config';
        if (phase() === 'failed') return 'the bakeoff failed before moving the pointer; nothing to roll back';
        return null;
      },
      apply: (a) => this.requestRollback({ by: a.by, reason: a.reason, automatic: false }),
      waitsForTerminal: true,
    };
    const pause: ActionSpec<{ by?: string; reason?: string }> = {
      name: 'pause',
      signal: pauseSignal,
      update: pauseUpdate,
      schema: PauseArgsSchema,
      legacySchema: PauseArgsSchema.partial({ by: true }),
      problem: endedOrRollingBack,
      apply: (a) => {
        this.tick();
        if (!s.status.paused) {
          s.status.paused = true;
          s.status.pausedBy = a.by;
          this.event('signal', `paused${by(a.by)}${a.reason ? `: ${a.reason}` : ''}; the soak clock stops`, a.by);
          this.notify('operator', `paused${by(a.by)}`);
        }
        this.wake();
      },
    };
    const resume: ActionSpec<{ by?: string; reason?: string }> = {
      name: 'resume',
      signal: resumeSignal,
      update: resumeUpdate,
      schema: ResumeArgsSchema,
      legacySchema: ResumeArgsSchema.partial({ by: true }),
      problem: () => (isTerminal(phase()) ? `bakeoff is ${phase()}` : null),
      apply: (a) => {
        this.tick();
        if (s.status.paused) {
          s.status.paused = false;
          s.status.pausedBy = undefined;
          this.event('signal', `resumed${by(a.by)}; the soak clock runs again`, a.by);
          this.notify('operator', `resumed${by(a.by)}`);
        }
        this.wake();
      },
    };
    const promote: ActionSpec<{ by?: string; full?: boolean; reason?: string }> = {
      name: 'promote',
      signal: promoteSignal,
      update: promoteUpdate,
      schema: PromoteArgsSchema,
      legacySchema: PromoteArgsSchema.partial({ by: true }),
      problem: () => {
        const ended = endedRollingBackOrPromoting();
        if (ended) return ended;
        if (s.status.paused) return 'the bakeoff is paused: resume it before promoting';
        if (phase() === 'awaiting-operator') return 'the bakeoff awaits an operator decision: approve or abort it';
        if (phase() !== 'canary') return `promote skips the rest of a canary soak, and the bakeoff is still ${phase()}`;
        return null;
      },
      apply: (a) => {
        s.promote = { ...s.promote, requested: true, full: s.promote.full || a.full === true, by: a.by ?? s.promote.by };
        this.wake();
      },
    };
    const extendSoak: ActionSpec<{ by?: string; duration: number; reason?: string }> = {
      name: 'extendSoak',
      signal: extendSoakSignal,
      update: extendSoakUpdate,
      schema: ExtendSoakArgsSchema,
      legacySchema: ExtendSoakArgsSchema.partial({ by: true }),
      problem: () => endedRollingBackOrPromoting() ?? (!s.canary?.started ? `no soak is running (phase ${phase()})` : null),
      apply: (a) => {
        this.tick();
        if (!s.canary) return; // refused by problem(): no soak is running
        const clock = new SoakClock(s.canary);
        clock.extend(a.duration);
        this.event('signal', `soak of stage ${clock.p.stageIndex + 1} extended by ${formatDuration(a.duration)}${by(a.by)}`, a.by);
        this.wake();
      },
    };
    const approve: ActionSpec<{ by: string; reason?: string }> = {
      name: 'approve',
      signal: approveSignal,
      update: approveUpdate,
      schema: ApproveArgsSchema,
      problem: () => (phase() === 'awaiting-operator' && s.status.awaiting ? null : `nothing awaits approval (phase ${phase()})`),
      apply: (a) => {
        s.approval = { by: a.by, reason: a.reason };
        s.status.approvals.push({ by: a.by, reason: a.reason, at: Date.now() });
        this.wake();
      },
    };
    const abort: ActionSpec<{ by: string; reason: string }> = {
      name: 'abort',
      signal: abortSignal,
      update: abortUpdate,
      schema: AbortArgsSchema,
      problem: endedOrRollingBack,
      apply: (a) => this.requestRollback({ by: a.by, reason: `aborted: ${a.reason}`, automatic: false }),
      waitsForTerminal: true,
    };
    return [rollback, pause, resume, promote, extendSoak, approve, abort] as ActionSpec<{ by?: string; reason?: string }>[];
  }

  /** The full action log: who did what and why, applied or not (bounded, carried across continue-as-new). */
  private logAction(r: Omit<ActionRecord, 'at' | 'by'> & { by: string | undefined }): void {
    const log = (this.s.status.actions ??= []);
    log.push({ at: Date.now(), ...r, by: r.by ?? 'unknown' });
    if (log.length > MAX_ACTIONS) log.splice(0, log.length - MAX_ACTIONS);
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
      // Queries must not mutate state: read the running clock without ticking it.
      const clock = new SoakClock(c);
      const stopped = this.clockStopped();
      stage = {
        index: c.stageIndex,
        percent: input.ramp[c.stageIndex].percent,
        soakMs: c.soakMs,
        remainingMs: clock.remainingAt(Date.now(), stopped),
        endsAt: clock.endsAt(Date.now(), stopped),
        startedAt: c.startedAt,
      };
    }
    let shadow: ShadowStatus | null | undefined = s.status.shadow;
    if (shadow && s.shadow?.soak.started && !s.shadow.done) {
      shadow = { ...shadow, remainingMs: new SoakClock(s.shadow.soak).remainingAt(Date.now(), this.clockStopped()) };
    } else if (shadow && s.shadow?.done) {
      shadow = { ...shadow, remainingMs: s.shadow.soak.remainingMs };
    }
    return { ...s.status, stage, ...(shadow !== undefined ? { shadow } : {}), asOf: Date.now() };
  }

  /** Every phase change goes through here and must be in the table of phases.ts. */
  private setPhase(phase: Phase, message: string): void {
    const s = this.s;
    if (!canTransition(s.status.phase, phase)) throw new IllegalPhaseTransition(s.status.phase, phase);
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
    this.showDetails();
  }

  /** The Web UI's "Current Details" (current-details.ts): display only, never allowed to fail the workflow. */
  private showDetails(): void {
    try {
      setCurrentDetails(currentDetails(this.snapshot()));
    } catch (err) {
      log.warn(`current details not updated: ${(err as Error).message}`);
    }
  }

  private upsertSearchAttributes(): void {
    const s = this.s;
    if ((s.input?.searchAttributes ?? s.raw?.searchAttributes) === false) return;
    const pairs: SearchAttributeUpdatePair[] = [{ key: PHASE_KEY, value: s.status.phase }];
    if (s.status.configHash) pairs.push({ key: CONFIG_HASH_KEY, value: s.status.configHash });
    // The Web UI list says Completed for every outcome; this column says which (issue 15 item 5).
    if (isTerminal(s.status.phase) && patched('outcome-search-attribute')) pairs.push({ key: OUTCOME_KEY, value: this.outcome() });
    upsertSearchAttributes(pairs);
  }

  /** Fire-and-forget from the workflow's point of view; awaited before the run ends. */
  private notify(event: 'phase' | 'gate' | 'live-check' | 'operator' | 'rollback' | 'promotion', message: string, gate?: Gate): void {
    const s = this.s;
    const idempotencyKey = this.key(`notify-${s.notifySeq++}`);
    const call = CancellationScope.nonCancellable(() =>
      notifier.notify({
        workflowId: s.status.workflowId,
        webhook: s.input?.notifyWebhook, // a name the worker resolves: the URL stays out of history
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
    ).finally(() => {
      this.pendingOpen -= 1;
    });
    this.pendingOpen += 1;
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

function count(gates: Gate[], v: Verdict): number {
  return gates.filter((g) => g.verdict === v).length;
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
