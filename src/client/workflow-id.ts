// The characters a bakeoff's workflow id may use. An id names report files (src/activities/report.ts)
// and appears in shell commands the CLI prints, so it is restricted to what is safe in both: every id
// bakeoff derives (`bakeoff-<lane>-<hash16>`, `bakeoff-dryrun-<lane>-<hash16>-<stamp>`) and the
// tests' ids fit; a path separator, `..` segment, space or control character never does.
export const WORKFLOW_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export class InvalidWorkflowIdError extends Error {
  override name = 'InvalidWorkflowIdError';
}

/** Why an id is refused (one line naming it), or null when it is acceptable. */
export function workflowIdProblem(id: string): string | null {
  if (WORKFLOW_ID_PATTERN.test(id) && !id.includes('..')) return null;
  return `workflow id ${JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id)} is not allowed: use 1–200 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'`;
}

export function assertWorkflowId(id: string): string {
  const problem = workflowIdProblem(id);
  if (problem) throw new InvalidWorkflowIdError(problem);
  return id;
}
