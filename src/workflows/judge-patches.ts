// The live judge's rule changes, chosen in the workflow under patched() (live-judge.ts itself stays
// free of Temporal imports: the bench and the backtest CLI run it outside a workflow). A changed rule
// changes verdicts, hence commands (rollback vs continue): a bakeoff started before a change keeps
// its rule for its whole life, because the choice is stored in its judge state when that starts.
import { patched } from '@temporalio/workflow';
import type { LatencyRule } from './live-judge';

/** The latency gate for a judge starting now: the log-mean test since patch 'log-latency-gate'. */
export function logLatencyRule(): LatencyRule {
  return patched('log-latency-gate') ? 'log-mean' : 'p95-share';
}

/**
 * Whether a judge starting now also runs the recent-window test (recent-window.ts) next to the
 * stage-pooled CS: since patch 'recent-window-gate'. Stored in the judge state (`recent`), so a
 * bakeoff whose judge started before keeps the pooled test alone, at the whole budget.
 */
export function recentWindowGate(): boolean {
  return patched('recent-window-gate');
}

/**
 * Whether a canary judge starting now takes the early look (early-look.ts) and spends the budget
 * that way (gate weights; early / recent-from-block-2 / pooled): since patch 'early-look-gate'.
 * Stored in the judge state (`early`), so a bakeoff whose judge started before keeps its budget.
 */
export function earlyLookGate(): boolean {
  return patched('early-look-gate');
}
