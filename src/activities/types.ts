// The activity interface the bakeoff workflow calls: inputs and outputs of every step. Platform
// activities (pointer, backup, canary, rollback, notify, audit, report) live beside this file; the
// data-plane ones (lock, ingest, evaluate, probes) are built from src/rag and must match
// DataPlaneActivities exactly. Pure types only: the workflow imports this file with `import type`.
import type { LockedConfig } from '../rag/config';
import type { BakeoffInput, BakeoffInputRaw } from '../workflows/messages';
import type { BakeoffStatus, Gate, GateDirection, Verdict } from '../workflows/types';
import type { WindowEvidence } from '../workflows/live-evidence';
import type { EvalReport, LockedCorpus, ShadowIngestReport } from '../workflows/report-types';

// The report types live in a leaf module (no cycle with workflows/types.ts); re-exported for importers.
export type { EvalReport, LatencyPercentiles, LockedCorpus, PairedLatency, PerCaseScores, ShadowIngestReport } from '../workflows/report-types';

export type { LockedConfig };

/** Every activity with a side effect gets one; the audit table makes a repeat a no-op. */
export interface Idempotent {
  /** `${workflowId}/${firstExecutionRunId}/${step}`: the same for every attempt and every replay. */
  idempotencyKey: string;
}

// ---------------------------------------------------------------------------------------------
// Data plane (src/rag)

export interface LockConfigInput {
  candidate: Record<string, unknown>;
  requestedBy: string;
}

/** The corpus a locked config will ingest (the bundled FAQ, or its `dataset`), to fingerprint on the data plane. */
export interface LockCorpusInput {
  locked: LockedConfig;
}

export interface ShadowIngestInput {
  locked: LockedConfig;
  /** Table to fill: locked.shadow_table for a real run, a scratch table for a dry run. */
  table: string;
  dryRun: boolean;
}

/** One shard of a sharded shadow ingest (src/activities/ingest-shards.ts): its documents' rows only. */
export interface IngestShardInput extends ShadowIngestInput {
  shard: { index: number; count: number };
}

export interface IngestShardReport {
  table: string;
  shard: { index: number; count: number };
  /** The shard's own chunks (all in the table when it returns), and those this attempt wrote. */
  chunks: number;
  chunksWrittenThisAttempt: number;
  /** Document index a retried attempt resumed from (0: a fresh start). */
  resumedFrom: number;
  /** host:pid of the data worker that finished it. */
  worker: string;
  durationMs: number;
}

/** The one index build after every shard of a sharded ingest is in. */
export interface BuildIndexesInput extends ShadowIngestInput {
  shards: number;
}

export interface EvaluateInput {
  side: 'candidate' | 'baseline';
  table: string;
  /** Index the serving side would use for this table (null: the data plane picks its default). */
  index: string | null;
  caseSetRef: string;
  k: number;
  /** Smoke mode: only the first N cases (the post-rollback check). */
  maxCases?: number;
  /** Written into the evaluation manifest. */
  runLabel: string;
}

/** Both sides of an offline evaluation in one activity, timed case by case on one worker. */
export interface EvaluatePairInput {
  caseSetRef: string;
  k: number;
  maxCases?: number;
  candidate: { table: string; index: string | null; runLabel: string };
  baseline: { table: string; index: string | null; runLabel: string };
}

export interface ProbeInput {
  locked: LockedConfig;
  table: string;
  index: string | null;
}

export interface ProbeResult {
  name: string;
  value: number;
  threshold: number;
  /** Upper bound for band probes (e.g. dedup rate 0.10..0.35). */
  upper?: number;
  /** How value relates to threshold; defaults to 'higher-is-better'. */
  direction?: GateDirection;
  verdict: Verdict;
  detail?: string;
}

export interface DataPlaneActivities {
  lockConfig(input: LockConfigInput): Promise<LockedConfig>;
  /** Fingerprints the corpus the bakeoff will ingest (data queue); its snapshot becomes locked.corpus_snapshot. */
  lockCorpus(input: LockCorpusInput): Promise<LockedCorpus>;
  shadowIngest(input: ShadowIngestInput): Promise<ShadowIngestReport>;
  /** Sharded ingest (input ingestParallelism > 1): each shard, then one index build from the table. */
  ingestShard(input: IngestShardInput): Promise<IngestShardReport>;
  buildIndexes(input: BuildIndexesInput): Promise<ShadowIngestReport>;
  evaluate(input: EvaluateInput): Promise<EvalReport>;
  /** The candidate's report carries both sides' per-case latencies (pairedLatency). */
  evaluatePair(input: EvaluatePairInput): Promise<{ candidate: EvalReport; baseline: EvalReport }>;
  runProbes(input: ProbeInput): Promise<ProbeResult[]>;
}

// ---------------------------------------------------------------------------------------------
// Serving pointer

export interface PointerState {
  lane: string;
  liveTable: string;
  liveIndex: string | null;
  liveConfigHash: string | null;
  candidateTable: string | null;
  candidateIndex: string | null;
  candidateConfigHash: string | null;
  canaryPercent: number;
  cacheEpoch: number;
  version: number;
  updatedBy: string;
  updatedAt: string;
  reason: string | null;
  /**
   * The mirror target (issue 14): mirrorPercent of requests are also answered by it off the
   * response path, never served. Optional in the type only so literals written before it compile;
   * readPointer always sets them.
   */
  mirrorTable?: string | null;
  mirrorIndex?: string | null;
  mirrorConfigHash?: string | null;
  mirrorPercent?: number;
  /** The bakeoff (workflow id) that set the mirror; null when none or set by an operator. */
  mirrorOwner?: string | null;
}

export interface SetMirrorInput extends Idempotent {
  lane: string;
  workflowId: string;
  table: string;
  index: string | null;
  configHash: string;
  /** Integer 0..100: share of requests mirrored. */
  percent: number;
  by: string;
  reason: string;
}

export interface ClearMirrorInput extends Idempotent {
  lane: string;
  workflowId: string;
  by: string;
  reason: string;
}

export interface SetTrafficSplitInput extends Idempotent {
  lane: string;
  candidateTable: string;
  candidateIndex: string | null;
  candidateConfigHash: string;
  percent: number;
  by: string;
  reason: string;
  /** The bakeoff asking (fencing); absent: parsed from by = `bakeoff:<workflowId>`. */
  workflowId?: string;
}

export interface RestoreBaselineInput extends Idempotent {
  lane: string;
  baseline: { table: string; index: string | null; configHash: string | null };
  by: string;
  reason: string;
  /** The bakeoff rolling back (fencing); absent: the idempotency key's `<workflowId>/` prefix. */
  workflowId?: string;
}

export interface ClaimLaneInput {
  lane: string;
  workflowId: string;
  by: string;
}

export interface ClaimLaneResult {
  lane: string;
  owner: string;
  /** Epoch ms the owner took the lane. */
  since: number;
  /** The closed workflow whose lease was taken over. */
  tookOverFrom?: string;
}

export interface ReleaseLaneInput {
  lane: string;
  workflowId: string;
}

export interface ClearCachesInput extends Idempotent {
  lane: string;
  by: string;
  reason: string;
}

export interface PromoteInput extends Idempotent {
  lane: string;
  candidateTable: string;
  candidateIndex: string | null;
  candidateConfigHash: string;
  workflowId: string;
  by: string;
}

export interface PromoteResult {
  pointer: PointerState;
  /** The config that was live before; kept in config_archive. */
  archivedTable: string;
  archiveId: number;
}

// ---------------------------------------------------------------------------------------------
// Backup

export interface BackupInput extends Idempotent {
  lane: string;
  workflowId: string;
  by: string;
}

export interface BackupRef {
  backupId: string;
  lane: string;
  sourceTable: string;
  backupTable: string;
  rows: number;
  pointer: PointerState;
  createdAt: string;
}

// ---------------------------------------------------------------------------------------------
// Canary live KPIs

export interface LiveSideKpis {
  samples: number;
  /** Sample-weighted over the window; null when no samples. */
  errorRate: number | null;
  p95Ms: number | null;
  qualityProxy: number | null;
}

export interface LiveCheckInput {
  lane: string;
  /** Window in workflow time (epoch ms): rows whose window ends in (fromMs, toMs]. */
  fromMs: number;
  toMs: number;
  thresholds: BakeoffInput['thresholds']['live'];
  /** Which requests to judge: 'live' (served traffic, the default) or 'mirror' (shadow traffic, issue 14). */
  traffic?: 'live' | 'mirror';
}

/** Label-free comparisons of the live and mirror answers to the same requests, pooled over a span. */
export interface MirrorComparisonSummary {
  /** Requests both sides answered (compared). */
  n: number;
  overlapSum: number;
  rboSum: number;
  top1Changes: number;
  /** Mirror computations dropped because the concurrency bound was reached. */
  dropped: number;
  /** Means over n (null when n = 0). */
  meanOverlapAt10: number | null;
  meanRbo: number | null;
  top1ChangeRate: number | null;
  /** dropped / (n + dropped + mirror errors); null when nothing was attempted. */
  droppedShare: number | null;
}

export interface LiveCheckResult {
  fromMs: number;
  toMs: number;
  baseline: LiveSideKpis;
  candidate: LiveSideKpis;
  gates: Gate[];
  verdict: Verdict;
  /**
   * The span's poolable evidence for the live judge (judged requests only: answer-cache hits are
   * counted apart). Absent in results recorded before it existed, so optional for replay.
   */
  evidence?: WindowEvidence;
  /** Only when input.traffic = 'mirror': the label-free comparisons over the same span. */
  mirror?: MirrorComparisonSummary;
}

// ---------------------------------------------------------------------------------------------
// Notify, report

export interface NotifyInput extends Idempotent {
  workflowId: string;
  /** A webhook name the worker resolves (BAKEOFF_WEBHOOK_<NAME>); its URL never enters history. */
  webhook?: string;
  /** Deprecated: an inline URL (it is in history); errors show it redacted. */
  webhookUrl?: string;
  event: 'phase' | 'gate' | 'live-check' | 'operator' | 'rollback' | 'promotion';
  phase: string;
  message: string;
  gate?: Gate;
  dryRun: boolean;
}

export interface NotifyResult {
  delivered: 'webhook' | 'log' | 'duplicate';
}

export interface WriteReportInput extends Idempotent {
  workflowId: string;
  status: BakeoffStatus;
}

export interface ReportRef {
  reportId: string;
  path: string | null;
}

export interface PlatformActivities {
  validateInput(raw: BakeoffInputRaw): Promise<BakeoffInput>;
  readPointer(input: { lane: string }): Promise<PointerState>;
  claimLane(input: ClaimLaneInput): Promise<ClaimLaneResult>;
  releaseLane(input: ReleaseLaneInput): Promise<{ released: boolean }>;
  backupLive(input: BackupInput): Promise<BackupRef>;
  setTrafficSplit(input: SetTrafficSplitInput): Promise<PointerState>;
  setMirror(input: SetMirrorInput): Promise<PointerState>;
  clearMirror(input: ClearMirrorInput): Promise<PointerState>;
  restoreBaseline(input: RestoreBaselineInput): Promise<PointerState>;
  clearCaches(input: ClearCachesInput): Promise<{ cacheEpoch: number }>;
  promoteCandidate(input: PromoteInput): Promise<PromoteResult>;
  checkLiveKpis(input: LiveCheckInput): Promise<LiveCheckResult>;
  notify(input: NotifyInput): Promise<NotifyResult>;
  writeReport(input: WriteReportInput): Promise<ReportRef>;
}

export type BakeoffActivities = DataPlaneActivities & PlatformActivities;

export { NON_RETRYABLE_ERROR_TYPES } from '../workflows/errors';
