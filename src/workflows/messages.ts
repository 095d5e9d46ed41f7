// Every message the bakeoff workflow understands, defined once: the workflow registers handlers for
// these, the CLI and tests send them. Also the zod schema of the workflow input. Everything here
// is deterministic (zod + our duration parser), so the workflow sandbox may import it.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { parseDuration } from './duration';
import { MAX_INGEST_SHARDS } from './shard-ingest';
import type { BakeoffStatus } from './types';
import { formatZodIssues } from '../platform/zod-issues';

// ---------------------------------------------------------------------------------------------
// Shared field schemas

/** A duration in, milliseconds out; accepting both keeps parse(parse(x)) = parse(x). */
export const durationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const r = parseDuration(v);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.reason });
    return z.NEVER;
  }
  return r.ms;
});

function durationAtLeast(minMs: number, label: string) {
  return durationSchema.refine((ms) => ms >= minMs, { message: `must be at least ${label}` });
}

const operatorName = z.string().trim().min(1, 'must name who is acting').max(200);
const reasonText = z.string().trim().min(1, 'must say why').max(1000);
/** Lanes name a pointer row and appear in table names, so they are identifier-safe. */
export const laneSchema = z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, 'lane must be lowercase letters, digits, _ (max 31 chars)');

// ---------------------------------------------------------------------------------------------
// Workflow input

export const OfflineThresholdsSchema = z
  .strictObject({
    /** hit rate must gain at least this many points over the baseline... */
    hitRateGainMinPts: z.number().min(-100).max(100).default(5),
    /** ...and a gain above this is implausible (leakage?) and goes to an operator. */
    hitRateGainMaxPts: z.number().min(-100).max(100).default(15),
    /** F1 − baseline F1 must be at least this (0 = "F1 ≥ baseline"). */
    f1MinDeltaPts: z.number().min(-100).max(100).default(0),
    /** precision may move at most this many points from the baseline. */
    precisionDriftMaxPts: z.number().min(0).max(100).default(2),
    /** end-to-end p95 may grow at most this many percent over the baseline. */
    p95MaxIncreasePct: z.number().min(0).max(1000).default(15),
    /** fewer labelled cases than this cannot support a verdict: inconclusive. */
    minCases: z.int().min(1).max(1_000_000).default(30),
    /** a quality KPI within this many points short of its bound is inconclusive rather than failed. */
    marginPts: z.number().min(0).max(100).default(1),
    /**
     * with per-case scores: the chance that the paired intervals (Holm-corrected across the quality
     * gates) wrongly fail or pass any of them. Replaces marginPts for reports that carry per-case scores.
     */
    alpha: z.number().gt(0).max(0.5).default(0.05),
  })
  .refine((t) => t.hitRateGainMinPts <= t.hitRateGainMaxPts, {
    message: 'hitRateGainMinPts must not exceed hitRateGainMaxPts',
    path: ['hitRateGainMinPts'],
  });
export type OfflineThresholds = z.output<typeof OfflineThresholdsSchema>;

export const LiveThresholdsSchema = z.strictObject({
  /** each side needs this many requests in a check window, else the check is inconclusive. */
  minSamples: z.int().min(1).max(100_000_000).default(200),
  maxErrorRateIncreasePts: z.number().min(0).max(100).default(1),
  maxP95IncreasePct: z.number().min(0).max(1000).default(15),
  maxQualityDropPts: z.number().min(0).max(100).default(2),
  /**
   * the live judge's one error budget (src/workflows/live-judge.ts): the chance that a healthy
   * candidate is rolled back at all over the whole bakeoff, across every live gate, stage and check.
   */
  alpha: z.number().gt(0).max(0.2).default(0.01),
  /**
   * the old per-check judge's one-sided level (breach-significance.ts). Still accepted because older
   * bakeoffs carry it; the anytime-valid judge (live-judge.ts) ignores it and spends `alpha` instead.
   */
  breachAlpha: z.number().gt(0).max(0.25).default(0.001),
  /** a p95 rise smaller than this many ms never fails, whatever its percentage (ms-fast answers jitter by more than 15 %). */
  p95MinIncreaseMs: z.number().min(0).max(600_000).default(2),
  /** consecutive failed checks before an automatic rollback. */
  failureLimit: z.int().min(1).max(1000).default(1),
  /** consecutive inconclusive checks before asking an operator (the soak clock stops meanwhile). */
  inconclusiveLimit: z.int().min(1).max(10_000).default(6),
});
export type LiveThresholds = z.output<typeof LiveThresholdsSchema>;

export const RampStageSchema = z.strictObject({
  percent: z.int('percent must be a whole number').min(1, 'percent must be 1..100').max(100, 'percent must be 1..100'),
  soak: durationSchema,
});
export type RampStage = z.output<typeof RampStageSchema>;

/**
 * The shadow stage (issue 14): after the offline gates and before the first split, `percent` of
 * requests are also answered by the candidate off the response path (never served) for `soak`, and
 * judged by the live gates plus the label-free overlap@10 gate. The CLI and the demo fill in a default
 * (src/client/shadow-defaults.ts); an input without it (a raw start, a recorded history) has none.
 */
export const ShadowStageSchema = z.strictObject({
  soak: durationAtLeast(1_000, '1s'),
  percent: z.int('percent must be a whole number').min(1, 'percent must be 1..100').max(100, 'percent must be 1..100').default(100),
  /** Defaults to the bakeoff's checkInterval. */
  checkInterval: durationAtLeast(1_000, '1s').optional(),
  /** Mean overlap@10 of the candidate's and the live answers to the same requests must reach this. */
  minOverlapAt10: z.number().min(0).max(1).default(0.5),
  /**
   * A stage that ends without proof (too little mirrored traffic, or a gate still open): 'canary' goes
   * on to the canary, which judges real traffic with the same gates; 'ask-operator' waits for approve or
   * abort (operatorDeadline). A fail rolls back either way. Inputs recorded without it: 'ask-operator'.
   */
  onInconclusive: z.enum(['canary', 'ask-operator']).default('canary'),
});
export type ShadowStage = z.output<typeof ShadowStageSchema>;

export const DEFAULT_RAMP: ReadonlyArray<{ percent: number; soak: string }> = [
  { percent: 10, soak: '16h' },
  { percent: 50, soak: '16h' },
  { percent: 100, soak: '16h' },
];

export const BakeoffInputSchema = z.strictObject({
  /** The candidate retrieval config; its own schema lives with the data plane (src/rag/config.ts). */
  candidate: z.record(z.string(), z.unknown()),
  baseline: z
    .strictObject({
      /** Serving lane: the baseline is whatever this lane's pointer serves when the bakeoff locks. */
      lane: laneSchema.default('default'),
      /** Refuse to start unless the lane's live config has this hash (guards against a moved baseline). */
      expectConfigHash: z.string().regex(/^[0-9a-f]{64}$/, 'expectConfigHash must be 64 hex characters').optional(),
    })
    .prefault({}),
  evalCases: z.strictObject({
    /** Labelled case set the data plane understands, e.g. 'faq:dev'. */
    ref: z.string().trim().min(1).max(500),
    k: z.int().min(1).max(100).default(10),
    /** Cases in the smoke eval that confirms the baseline after a rollback. */
    smokeCases: z.int().min(1).max(100_000).default(20),
  }),
  thresholds: z
    .strictObject({ offline: OfflineThresholdsSchema.prefault({}), live: LiveThresholdsSchema.prefault({}) })
    .prefault({}),
  /** Shadow stage before the canary (absent: none; the one pointer change a dry run then makes is the mirror). */
  shadow: ShadowStageSchema.optional(),
  ramp: z.array(RampStageSchema).min(1, 'ramp needs at least one stage').max(20).prefault(DEFAULT_RAMP.map((s) => ({ ...s }))),
  checkInterval: durationAtLeast(1_000, '1s').prefault('5m'),
  /** How long an inconclusive verdict waits for approve/abort before aborting on its own. */
  operatorDeadline: durationAtLeast(1_000, '1s').prefault('24h'),
  /** Dry run: every read-only step for real on a scratch table; the pointer is never touched. */
  dryRun: z.boolean().default(false),
  /** Soak per stage in a dry run (compressed). */
  dryRunSoak: durationSchema.prefault('10s'),
  /** A webhook by name: the worker POSTs to its BAKEOFF_WEBHOOK_<NAME>, so the URL (often a secret) stays out of history. */
  notifyWebhook: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'notifyWebhook must name a webhook (lowercase letters, digits, _ or -); the worker reads its URL from BAKEOFF_WEBHOOK_<NAME>')
    .optional(),
  /** Deprecated (its URL lands in the workflow's history): use notifyWebhook. notifyWebhook wins when both are set. */
  notifyWebhookUrl: z.url({ protocol: /^https?$/, error: 'notifyWebhookUrl must be an http(s) URL' }).optional(),
  /** Upsert BakeoffPhase/ConfigHash search attributes (must be registered on the server). */
  searchAttributes: z.boolean().default(true),
  /**
   * How long a crashed worker can hold up a step before the server retries it on another worker:
   * `step` is the start-to-close of short database steps, `heartbeat` the heartbeat timeout of long
   * ones (ingest, evaluate, probes, backup). Drills and the chaos tests compress them, like the soaks.
   */
  timeouts: z
    .strictObject({
      step: durationAtLeast(1_000, '1s').prefault('1m'),
      heartbeat: durationAtLeast(1_000, '1s').prefault('5m'),
    })
    .prefault({}),
  /**
   * Sharded shadow ingest (src/workflows/shard-ingest.ts): the corpus is split into this many shards by
   * a hash of the document id, ingested at once by any data workers, then one index build. 1: one
   * shadowIngest activity, as before.
   */
  ingestParallelism: z.int('ingestParallelism must be a whole number').min(1, 'ingestParallelism must be 1..64').max(MAX_INGEST_SHARDS, 'ingestParallelism must be 1..64').default(1),
  /** Continue-as-new once a run's history has this many events (Temporal's hard limit is 51,200). */
  continueAsNewAfterEvents: z.int().min(100).max(40_000).default(4_000),
  requestedBy: operatorName,
});
export type BakeoffInputRaw = z.input<typeof BakeoffInputSchema>;
export type BakeoffInput = z.output<typeof BakeoffInputSchema>;

/** "field.path: message" lines; the shape every bakeoff user error takes (never a stack trace). */
export function formatIssues(err: z.ZodError): string {
  return formatZodIssues(err);
}

// ---------------------------------------------------------------------------------------------
// Message arguments

export const RollbackArgsSchema = z.strictObject({ reason: reasonText, by: operatorName });
// Every action names who (`by`, required since patch 'operator-identity') and may say why.
export const PauseArgsSchema = z.strictObject({ by: operatorName, reason: reasonText.optional() });
export const ResumeArgsSchema = z.strictObject({ by: operatorName, reason: reasonText.optional() });
/** full: skip every remaining stage and promote now (Argo's `promote --full`). */
export const PromoteArgsSchema = z.strictObject({ by: operatorName, full: z.boolean().optional(), reason: reasonText.optional() });
export const ExtendSoakArgsSchema = z.strictObject({ duration: durationSchema, by: operatorName, reason: reasonText.optional() });
export const ApproveArgsSchema = z.strictObject({ by: operatorName, reason: reasonText.optional() });
export const AbortArgsSchema = z.strictObject({ by: operatorName, reason: reasonText });

export type RollbackArgs = z.input<typeof RollbackArgsSchema>;
export type PauseArgs = z.input<typeof PauseArgsSchema>;
export type ResumeArgs = z.input<typeof ResumeArgsSchema>;
export type PromoteArgs = z.input<typeof PromoteArgsSchema>;
export type ExtendSoakArgs = z.input<typeof ExtendSoakArgsSchema>;
export type ApproveArgs = z.input<typeof ApproveArgsSchema>;
export type AbortArgs = z.input<typeof AbortArgsSchema>;

// Signals: fire-and-forget, recorded by the server even while no worker runs (on-call's rollback).
// Every message takes one object argument ({} when nothing needs saying).
export const rollbackSignal = defineSignal<[RollbackArgs]>('rollback');
export const pauseSignal = defineSignal<[PauseArgs]>('pause');
export const resumeSignal = defineSignal<[ResumeArgs]>('resume');
export const promoteSignal = defineSignal<[PromoteArgs]>('promote');
export const extendSoakSignal = defineSignal<[ExtendSoakArgs]>('extendSoak');
export const approveSignal = defineSignal<[ApproveArgs]>('approve');
export const abortSignal = defineSignal<[AbortArgs]>('abort');

// Updates: the same actions, validated before they enter history, answering with the new status.
// rollbackUpdate answers once the pointer is back on the baseline and the rollback is recorded.
export const rollbackUpdate = defineUpdate<BakeoffStatus, [RollbackArgs]>('rollbackUpdate');
export const pauseUpdate = defineUpdate<BakeoffStatus, [PauseArgs]>('pauseUpdate');
export const resumeUpdate = defineUpdate<BakeoffStatus, [ResumeArgs]>('resumeUpdate');
export const promoteUpdate = defineUpdate<BakeoffStatus, [PromoteArgs]>('promoteUpdate');
export const extendSoakUpdate = defineUpdate<BakeoffStatus, [ExtendSoakArgs]>('extendSoakUpdate');
export const approveUpdate = defineUpdate<BakeoffStatus, [ApproveArgs]>('approveUpdate');
export const abortUpdate = defineUpdate<BakeoffStatus, [AbortArgs]>('abortUpdate');

export const statusQuery = defineQuery<BakeoffStatus>('status');

/** Search attributes the workflow upserts; register them on the server (see docs/workflow.md). */
export const SEARCH_ATTRIBUTE_PHASE = 'BakeoffPhase';
export const SEARCH_ATTRIBUTE_CONFIG_HASH = 'ConfigHash';
/** Set once, when the bakeoff ends: its result's outcome (promoted, rolled-back, failed, dry-run-…), for the Web UI list. */
export const SEARCH_ATTRIBUTE_OUTCOME = 'BakeoffOutcome';
