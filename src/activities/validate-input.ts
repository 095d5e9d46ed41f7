// Validation of a bakeoff's input at both ends of the wire: the client calls parseBakeoffInput
// before starting (so a typo never becomes a workflow), and the workflow's first activity calls it
// again (a workflow can be started by other clients, e.g. the Temporal CLI or UI).
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { workflowIdProblem } from '../client/workflow-id';
import { ConfigCandidateSchema } from '../rag/config';
import { zodIssueLines } from '../platform/zod-issues';
import { BakeoffInputSchema, formatIssues, type BakeoffInput } from '../workflows/messages';

export class BakeoffInputError extends Error {
  override name = 'BakeoffInputError';
}

/** Parses and fills defaults; throws BakeoffInputError listing every problem as "field: message". */
export function parseBakeoffInput(raw: unknown): BakeoffInput {
  const parsed = BakeoffInputSchema.safeParse(raw);
  if (!parsed.success) throw new BakeoffInputError(`invalid bakeoff input:\n${formatIssues(parsed.error)}`);
  const candidate = ConfigCandidateSchema.safeParse(parsed.data.candidate);
  if (!candidate.success) {
    const lines = zodIssueLines(candidate.error, { prefix: 'candidate.', root: '(config)' });
    throw new BakeoffInputError(`invalid bakeoff input:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function createValidateInputActivities() {
  return {
    async validateInput(raw: unknown): Promise<BakeoffInput> {
      // The id names report files; a workflow started by another client with a path-like id stops here.
      const idProblem = workflowIdProblem(currentWorkflowId() ?? 'outside-a-workflow');
      if (idProblem) throw ApplicationFailure.create({ type: 'BakeoffInputError', nonRetryable: true, message: idProblem });
      try {
        return parseBakeoffInput(raw);
      } catch (err) {
        if (err instanceof BakeoffInputError) {
          throw ApplicationFailure.create({ type: 'BakeoffInputError', nonRetryable: true, message: err.message });
        }
        throw err;
      }
    },
  };
}

/** The calling workflow's id, or null when called outside an activity (unit tests). */
function currentWorkflowId(): string | null {
  try {
    return Context.current().info.workflowExecution?.workflowId ?? null;
  } catch {
    return null;
  }
}
