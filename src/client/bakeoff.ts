// Client side of a bakeoff: validate the input before anything starts, derive the workflow id from
// the candidate's config hash (so the same bakeoff cannot run twice at once), and talk to a running
// one. The CLI (src/cli) and the tests go through these functions.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { parseBakeoffInput } from '../activities/validate-input';
import { computeConfigHash } from '../rag/config';
import type { bakeoff } from '../workflows/bakeoff';
import type { BakeoffInput } from '../workflows/messages';
import { statusQuery } from '../workflows/messages';
import type { BakeoffStatus } from '../workflows/types';

export { BakeoffInputError, parseBakeoffInput } from '../activities/validate-input';

export class BakeoffAlreadyRunningError extends Error {
  override name = 'BakeoffAlreadyRunningError';
}

/** `bakeoff-<lane>-<first 16 hex of config_hash>`: one running bakeoff per config and lane. */
export function bakeoffWorkflowId(input: Pick<BakeoffInput, 'candidate' | 'baseline'>): string {
  // parseBakeoffInput has checked the candidate against ConfigCandidateSchema.
  const hash = computeConfigHash(input.candidate as unknown as Parameters<typeof computeConfigHash>[0]);
  return `bakeoff-${input.baseline.lane}-${hash.slice(0, 16)}`;
}

export interface StartBakeoffOptions {
  taskQueue: string;
  /** Overrides the derived id (tests run one config many times). */
  workflowId?: string;
}

export async function startBakeoff(client: Client, raw: unknown, opts: StartBakeoffOptions): Promise<WorkflowHandleWithFirstExecutionRunId<typeof bakeoff>> {
  const input = parseBakeoffInput(raw); // throws BakeoffInputError with one "field: message" line per problem
  const workflowId = opts.workflowId ?? bakeoffWorkflowId(input);
  try {
    return await client.workflow.start<typeof bakeoff>('bakeoff', {
      taskQueue: opts.taskQueue,
      workflowId,
      args: [input],
      // A running bakeoff of this config is never replaced; a finished one may be re-run.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new BakeoffAlreadyRunningError(
        `a bakeoff of this config is already running on lane '${input.baseline.lane}' (workflow ${workflowId}); ` +
          `see it with 'bakeoff status ${workflowId}', or roll it back before starting again`,
      );
    }
    throw err;
  }
}

export async function bakeoffStatus(client: Client, workflowId: string): Promise<BakeoffStatus> {
  return client.workflow.getHandle(workflowId).query(statusQuery);
}
