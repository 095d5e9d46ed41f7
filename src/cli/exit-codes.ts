// The bakeoff CLI's exit codes, one place so the docs, the commands and the tests agree.
// dry-run maps the gate verdict onto them; every other command exits OK or ERROR.
export const EXIT = {
  /** Done as asked (dry-run: every gate passed). */
  OK: 0,
  /** dry-run: at least one gate failed (CI should block the change). */
  GATE_FAILED: 1,
  /** dry-run: inconclusive or no verdict; any command: a user mistake, an unknown workflow, an unreachable server. */
  ERROR: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
