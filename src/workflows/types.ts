// Pure shapes shared by the bakeoff workflow, its activities, the CLI and tests. No runtime imports:
// this file is safe inside the workflow sandbox and costs nothing in the bundle.
import type { EvalReport, LockedCorpus, ShadowIngestReport } from './report-types';

export type Phase =
  | 'locking'
  | 'backing-up'
  | 'ingesting'
  | 'evaluating'
  | 'probing'
  | 'gating'
  | 'shadow'
  | 'canary'
  | 'awaiting-operator'
  | 'promoting'
  | 'rolling-back'
  | 'done'
  | 'rolled-back'
  | 'failed';

export const TERMINAL_PHASES: readonly Phase[] = ['done', 'rolled-back', 'failed'];

export function isTerminal(phase: Phase): boolean {
  return TERMINAL_PHASES.includes(phase);
}

export type Verdict = 'pass' | 'inconclusive' | 'fail';

/**
 * How a gate reads its threshold:
 * - higher-is-better: value ≥ threshold passes;
 * - lower-is-better: value ≤ threshold passes;
 * - within-band: threshold ≤ value ≤ upper passes; below fails, above is inconclusive (a gain larger
 *   than plausible, or a drift upwards, is for a human to look at, not a pass).
 */
export type GateDirection = 'higher-is-better' | 'lower-is-better' | 'within-band';

export interface Gate {
  /** e.g. 'hit_rate', 'probe:prefix_leakage', 'live:p95_ms'. */
  name: string;
  source: 'offline' | 'probe' | 'live';
  /** null when the KPI could not be measured (then the verdict is inconclusive). */
  value: number | null;
  /** The baseline's value of the same KPI; null for absolute checks (probes). */
  baseline: number | null;
  /** The bound `value` is compared with, already made relative to the baseline (null: not computable). */
  threshold: number | null;
  /** Upper bound of a within-band gate. */
  upper?: number;
  direction: GateDirection;
  verdict: Verdict;
  /** One sentence on why: what was compared with what. */
  reason: string;
  /**
   * false: the case set cannot measure this KPI (no gold answers for F1): shown as n/a, its verdict
   * (inconclusive) counts neither for nor against the bakeoff. Absent: applicable (every older gate).
   */
  applicable?: false;
}

export interface StageStatus {
  index: number;
  percent: number;
  soakMs: number;
  /** Soak time still to run; frozen while paused. */
  remainingMs: number;
  /** Epoch ms when the soak ends if nothing changes; null while paused. */
  endsAt: number | null;
  startedAt: number;
}

export interface LiveCheckSummary {
  checks: number;
  passes: number;
  fails: number;
  inconclusive: number;
  /** Consecutive results, reset by a pass (Argo's failureLimit / inconclusiveLimit). */
  failStreak: number;
  inconclusiveStreak: number;
  lastAt: number | null;
  lastVerdict: Verdict | null;
  lastGates: Gate[];
  /**
   * Index of the canary stage whose evidence the last check judged. A stage's last check can be seen
   * only after the next stage has started, so `stage` then names the wrong one. Absent: no canary
   * check yet, or a status from before this field.
   */
  lastStage?: number;
}

/**
 * The shadow stage (issue 14, input `shadow`): the candidate answers mirrored requests off the
 * response path before any user traffic moves. Pooled over the whole stage.
 */
export interface ShadowStatus {
  percent: number;
  soakMs: number;
  /** Soak still to run as of the status (frozen while paused or awaiting an operator). */
  remainingMs: number;
  startedAt: number | null;
  /** When setMirror was asked for / clearMirror answered (null: not yet). */
  mirrorSetAt: number | null;
  mirrorClearedAt: number | null;
  /** Checks of the shadow stage (its own summary; `live` counts the canary's). */
  live: LiveCheckSummary;
  /** Label-free comparisons pooled over the stage's checks. */
  mirror: { n: number; meanOverlapAt10: number | null; meanRbo: number | null; top1ChangeRate: number | null; dropped: number; droppedShare: number | null };
  /**
   * How the stage ended ('judged': a dry run's inconclusive end; 'unproven': a real bakeoff's
   * inconclusive end that went on to the canary, onInconclusive 'canary'); null while it runs.
   */
  outcome: 'passed' | 'approved' | 'failed' | 'judged' | 'unproven' | null;
}

export interface AwaitingOperator {
  reason: string;
  since: number;
  deadline: number;
  /** Where the bakeoff continues after an approve. */
  resumesAt: 'canary' | 'promoting';
}

export interface OperatorAction {
  by: string;
  reason?: string;
  at: number;
}

export interface RollbackRecord {
  by: string;
  reason: string;
  requestedAt: number;
  automatic: boolean;
  /** Set once the pointer is back on the baseline. */
  pointerRestoredAt?: number;
  pointerVersion?: number;
  cacheEpoch?: number;
  smoke?: { ok: boolean; hitRate?: number; cases?: number; error?: string };
  completedAt?: number;
}

export interface PromotionRecord {
  by: string;
  at: number;
  liveTable: string;
  archivedTable: string;
  pointerVersion: number;
  reportId?: string;
}

export interface BakeoffEvent {
  at: number;
  kind: 'phase' | 'gate' | 'signal' | 'update' | 'live-check' | 'note';
  message: string;
  by?: string;
}

/**
 * One operator or automatic action, whether applied or not: the full action log (issue 12 item 8).
 * Kept in the status (bounded at 2,000, carried across continue-as-new) and so in the report.
 */
export interface ActionRecord {
  at: number;
  /** e.g. 'pause', 'rollback', 'promotion'. */
  action: string;
  /** How it arrived: an operator's signal or update, or the bakeoff itself. */
  via: 'signal' | 'update' | 'automatic';
  by: string;
  reason?: string;
  outcome: 'applied' | 'ignored';
  /** Why it was ignored, or what it did (e.g. 'extended by 2h'). */
  note?: string;
}

/** The lane lease this bakeoff holds (patch 'lane-lease'; dry runs never take one). */
export interface LaneLease {
  lane: string;
  since: number;
  tookOverFrom?: string;
  releasedAt?: number;
}

export interface BaselineRef {
  lane: string;
  table: string;
  index: string | null;
  configHash: string | null;
  pointerVersion: number;
}

export interface BakeoffStatus {
  workflowId: string;
  requestedBy: string;
  lane: string;
  configHash: string | null;
  ingestRunId: string | null;
  shadowTable: string | null;
  dryRun: boolean;
  phase: Phase;
  /** Overall verdict of the offline gates (null until judged). */
  verdict: Verdict | null;
  paused: boolean;
  pausedBy?: string;
  baseline: BaselineRef | null;
  backupId: string | null;
  stage: StageStatus | null;
  stagesTotal: number;
  gates: Gate[];
  ingest: ShadowIngestReport | null;
  /** The corpus locked for this bakeoff (patch 'corpus-lock'; absent in bakeoffs before it). */
  corpus?: LockedCorpus | null;
  evaluation: { candidate: EvalReport; baseline: EvalReport } | null;
  live: LiveCheckSummary;
  /** The shadow stage (absent: the bakeoff has none). */
  shadow?: ShadowStatus | null;
  awaiting: AwaitingOperator | null;
  approvals: OperatorAction[];
  rollback: RollbackRecord | null;
  promotion: PromotionRecord | null;
  failure: string | null;
  /** Number of continue-as-new hops so far (history stays bounded). */
  runs: number;
  /** The last events, newest last (bounded so the state carried across continue-as-new stays small). */
  events: BakeoffEvent[];
  /** Every action, newest last (bounded at 2,000; absent in bakeoffs started before it existed). */
  actions?: ActionRecord[];
  /** The lane lease held (absent: none taken). */
  lease?: LaneLease | null;
  reportId: string | null;
  /** Workflow time of this snapshot: a query sees the time of the last workflow activation. */
  asOf: number;
}

export type BakeoffOutcome = 'promoted' | 'rolled-back' | 'failed' | 'dry-run-passed' | 'dry-run-failed';

export interface BakeoffResult {
  outcome: BakeoffOutcome;
  status: BakeoffStatus;
}
