// The bakeoff CLI's exit codes, one place so the docs, the commands and the tests agree.
// dry-run maps the gate verdicts onto them; every other command exits OK or ERROR.
import type { BakeoffStatus } from '../workflows/types';

export const EXIT = {
  /** Done as asked (dry-run: every offline gate passed and the shadow stage, if any, did not fail). */
  OK: 0,
  /** dry-run: at least one gate failed, offline or in the shadow stage (CI should block the change). */
  GATE_FAILED: 1,
  /** dry-run: inconclusive or no verdict; any command: a user mistake, an unknown workflow, an unreachable server. */
  ERROR: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * A dry run's exit code. A shadow stage that failed (a live or label-free gate proven breached on
 * mirrored requests) fails the run like an offline gate. One that ended without proof does not block:
 * a real bakeoff would go on to the canary after it too (onInconclusive 'canary'), and a CI lane with
 * little traffic would otherwise never pass; its verdicts are printed and in the report.
 */
export function dryRunExitCode(s: Pick<BakeoffStatus, 'verdict' | 'phase' | 'shadow'>): ExitCode {
  if (s.verdict === 'fail' || s.shadow?.outcome === 'failed') return EXIT.GATE_FAILED;
  if (s.verdict === 'pass' && s.phase === 'done') return EXIT.OK;
  return EXIT.ERROR;
}
