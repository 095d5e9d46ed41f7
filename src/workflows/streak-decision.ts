// The live-check decision of bakeoffs started before the anytime-valid judge (patched
// 'anytime-valid-judge' false): consecutive-streak rules over per-window verdicts, Argo/Flagger style.
// Pure: the workflow counts the check with countCheck() and acts on decideByStreak()'s answer.
import type { LiveThresholds } from './messages';
import type { Gate, LiveCheckSummary, Verdict } from './types';

export type StreakAction = 'rollback' | 'ask-operator' | 'continue';

/** Records one check in the status summary (either judge); true when the verdict changed. */
export function recordCheck(live: LiveCheckSummary, at: number, verdict: Verdict, gates: Gate[]): boolean {
  const changed = live.lastVerdict !== verdict;
  live.checks += 1;
  live.lastAt = at;
  live.lastVerdict = verdict;
  live.lastGates = gates;
  countCheck(live, verdict);
  return changed;
}

/** Adds one check's verdict to the summary (streaks reset as before: a pass resets both). */
export function countCheck(live: LiveCheckSummary, verdict: Verdict): void {
  if (verdict === 'pass') {
    live.passes += 1;
    live.failStreak = 0;
    live.inconclusiveStreak = 0;
  } else if (verdict === 'fail') {
    live.fails += 1;
    live.failStreak += 1;
    live.inconclusiveStreak = 0;
  } else {
    live.inconclusive += 1;
    live.inconclusiveStreak += 1;
  }
}

/**
 * failureLimit is Flagger's consecutive `threshold` (not Argo's total `failureLimit`): that many
 * failed checks in a row roll back; inconclusiveLimit inconclusive checks in a row ask an operator.
 */
export function decideByStreak(live: LiveCheckSummary, verdict: Verdict, t: Pick<LiveThresholds, 'failureLimit' | 'inconclusiveLimit'>): StreakAction {
  if (verdict === 'fail' && live.failStreak >= t.failureLimit) return 'rollback';
  if (verdict === 'inconclusive' && live.inconclusiveStreak >= t.inconclusiveLimit) return 'ask-operator';
  return 'continue';
}
