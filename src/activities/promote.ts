// Promotion: the candidate table becomes live and the old config goes to config_archive, in one
// transaction applied once per idempotency key, fenced by the lane lease (src/store/pointer.ts).
import type { Db } from '../platform/db';
import { applyOnce } from '../store/audit';
import { promotePointer } from '../store/pointer';
import type { PromoteInput, PromoteResult } from './types';

export function createPromoteActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    async promoteCandidate(input: PromoteInput): Promise<PromoteResult> {
      const { idempotencyKey, ...promote } = input;
      const { result } = await applyOnce(db, { idempotencyKey, activity: 'promoteCandidate', workflowId: input.workflowId }, (tx) =>
        promotePointer(tx, promote),
      );
      return result;
    },
  };
}
