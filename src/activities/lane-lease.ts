// claimLane / releaseLane: one bakeoff owns a serving lane at a time (src/store/lane-lease.ts). A
// lease left by a closed workflow is taken over only when the worker can ask Temporal whether the
// owner is closed; without that, a second bakeoff is refused with a message naming the owner.
import type { Db } from '../platform/db';
import { claimLane, releaseLane } from '../store/lane-lease';
import type { ClaimLaneInput, ClaimLaneResult, ReleaseLaneInput } from './types';

export interface LaneLeaseDeps {
  db: Db;
  /** True when the workflow is closed (not running); from a Temporal client's describe(). */
  workflowClosed?: (workflowId: string) => Promise<boolean>;
}

export function createLaneLeaseActivities(deps: LaneLeaseDeps) {
  const { db } = deps;
  return {
    async claimLane(input: ClaimLaneInput): Promise<ClaimLaneResult> {
      const lease = await claimLane(db, { ...input, ownerClosed: deps.workflowClosed });
      return { lane: lease.lane, owner: lease.owner, since: lease.since, ...(lease.tookOverFrom ? { tookOverFrom: lease.tookOverFrom } : {}) };
    },

    async releaseLane(input: ReleaseLaneInput): Promise<{ released: boolean }> {
      return releaseLane(db, input);
    },
  };
}

/** workflowClosed from a Temporal client: anything but RUNNING is closed; an unknown id is closed too. */
export function workflowClosedVia(client: { workflow: { getHandle(id: string): { describe(): Promise<{ status: { name: string } }> } } }) {
  return async (workflowId: string): Promise<boolean> => {
    try {
      const d = await client.workflow.getHandle(workflowId).describe();
      return d.status.name !== 'RUNNING';
    } catch (err) {
      if ((err as Error)?.name === 'WorkflowNotFoundError') return true;
      throw err;
    }
  };
}
