// The 100 % stage's concurrent baseline (issue 11 (b)). At 100 % the baseline serves nobody, so the
// judge used to compare the candidate with the baseline pooled from earlier stages: a machine-wide
// stall during the 100 % stage was charged to the candidate alone (seen end to end). Since patch
// 'full-stage-mirror' the stage sets the pointer's mirror to the candidate: the serving path then
// answers a rate-capped share of the (candidate-served) requests off the response path on BOTH
// sides, one right after the other (src/serve/search-service.ts runMirror), and the checks of the
// stage judge those mirrored pairs (traffic = 'mirror'): the same requests, at the same moments,
// neither from the answer cache. Too few mirrored pairs is inconclusive, like any short stage.
// Workflow code: deterministic; the mirror is cleared at the stage's end and on every exit
// (bakeoff.ts clearMirrorIfSet).
import { patched } from '@temporalio/workflow';
import type { SetMirrorInput } from '../activities/types';
import { judgesMirroredPairs, type LiveJudgeState } from './live-judge';

/** Whether a stage starting now at `percent` mirrors: 100 % stages of judged, non-dry-run bakeoffs, under the patch. */
export function mirrorsFullStage(judge: LiveJudgeState | undefined, percent: number, dryRun: boolean): judge is LiveJudgeState {
  return judge !== undefined && percent >= 100 && !dryRun && patched('full-stage-mirror');
}

/**
 * Sets the mirror and marks the judge to read mirrored pairs. Marked as set before the call (an
 * unacknowledged mirror must still be cleared); a refusal (e.g. an operator's mirror on the lane)
 * leaves the stage judged as before, against the bakeoff-wide baseline, and says so.
 */
export async function setFullStageMirror(
  judge: LiveJudgeState,
  setMirror: (m: SetMirrorInput) => Promise<unknown>,
  m: SetMirrorInput,
  note: (message: string) => void,
): Promise<void> {
  judge.fullStageMirror = { mirrorSet: true, judging: false, cleared: false };
  try {
    await setMirror(m);
    judge.fullStageMirror.judging = true;
    note(`100 % stage: mirroring ${m.percent}% of requests on both sides as its concurrent baseline (rate-capped by the service)`);
  } catch (err) {
    note(`100 % stage: mirror not set (${err instanceof Error ? err.message : String(err)}); judged against the baseline pooled over the bakeoff`);
  }
}

/** The traffic a check reads: mirrored pairs while the 100 % stage mirrors; otherwise served traffic (absent: as before). */
export function checkTraffic(judge: LiveJudgeState): 'mirror' | undefined {
  return judgesMirroredPairs(judge) ? 'mirror' : undefined;
}
