// Client side of a bakeoff: validate the input before anything starts, derive the workflow id from
// the candidate's config hash (so the same bakeoff cannot run twice at once), and talk to a running
// one. The CLI (src/cli) and the tests go through these functions.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { parseBakeoffInput } from '../activities/validate-input';
import { computeConfigHash } from '../rag/config';
import type { bakeoff } from '../workflows/bakeoff';
import type { BakeoffInput } from '../workflows/messages';
import { SEARCH_ATTRIBUTE_CONFIG_HASH, SEARCH_ATTRIBUTE_OUTCOME, SEARCH_ATTRIBUTE_PHASE, statusQuery } from '../workflows/messages';
import type { BakeoffStatus } from '../workflows/types';
import { bakeoffUiSummary } from './ui-summary';
import { assertWorkflowId } from './workflow-id';

export { BakeoffInputError, parseBakeoffInput } from '../activities/validate-input';
export { assertWorkflowId, InvalidWorkflowIdError, workflowIdProblem } from './workflow-id';

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

export class SearchAttributesMissingError extends Error {
  override name = 'SearchAttributesMissingError';
}

/**
 * An unregistered search attribute does not fail the start: it fails every workflow task of the
 * bakeoff, which then hangs. So check first, where the server can list them (the time-skipping test
 * server cannot; then the check is skipped).
 */
export async function checkSearchAttributes(client: Client, namespace: string): Promise<void> {
  let registered: Record<string, unknown>;
  try {
    const r = await client.connection.operatorService.listSearchAttributes({ namespace });
    registered = { ...(r.customAttributes ?? {}), ...(r.systemAttributes ?? {}) };
  } catch (err) {
    if ((err as { code?: number }).code === 12 /* UNIMPLEMENTED */) return;
    throw err;
  }
  const missing = [SEARCH_ATTRIBUTE_PHASE, SEARCH_ATTRIBUTE_CONFIG_HASH, SEARCH_ATTRIBUTE_OUTCOME].filter((k) => !(k in registered));
  if (missing.length > 0) {
    throw new SearchAttributesMissingError(
      `search attribute(s) ${missing.join(', ')} are not registered in namespace '${namespace}': run ` +
        missing.map((k) => `'temporal operator search-attribute create --namespace ${namespace} --name ${k} --type Keyword'`).join(' and ') +
        ` (or start the dev server with ${missing.map((k) => `--search-attribute ${k}=Keyword`).join(' ')}), or set searchAttributes: false`,
    );
  }
}

export async function startBakeoff(client: Client, raw: unknown, opts: StartBakeoffOptions): Promise<WorkflowHandleWithFirstExecutionRunId<typeof bakeoff>> {
  const input = parseBakeoffInput(raw); // throws BakeoffInputError with one "field: message" line per problem
  const workflowId = assertWorkflowId(opts.workflowId ?? bakeoffWorkflowId(input)); // it names report files
  if (input.searchAttributes) await checkSearchAttributes(client, client.options.namespace);
  try {
    return await client.workflow.start<typeof bakeoff>('bakeoff', {
      taskQueue: opts.taskQueue,
      workflowId,
      args: [input],
      // The Web UI's Summary and Details (User Metadata tab): what this bakeoff is and its plan.
      ...bakeoffUiSummary(input),
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
