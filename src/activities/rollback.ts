// The rollback steps the workflow runs in a non-cancellable scope: fence the lane and put the baseline
// back on the pointer (one transaction), and move the cache epoch so every serving cache is dropped.
// Each is applied once per idempotency key, so a rollback delivered twice, or retried after a worker
// crash, changes nothing the second time. The bakeoff rolling back is input.workflowId, else the
// `<workflowId>/` prefix of its idempotency key (what workflows started before the field send).
import type { Db } from '../platform/db';
import { applyOnce, workflowIdOfKey } from '../store/audit';
import { bumpCacheEpoch, restoreBaselinePointer } from '../store/pointer';
import type { ClearCachesInput, PointerState, RestoreBaselineInput } from './types';

export function createRollbackActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    async restoreBaseline(input: RestoreBaselineInput): Promise<PointerState> {
      const { idempotencyKey, ...restore } = input;
      const workflowId = input.workflowId ?? workflowIdOfKey(idempotencyKey);
      const { result } = await applyOnce(db, { idempotencyKey, activity: 'restoreBaseline', workflowId }, (tx) =>
        restoreBaselinePointer(tx, { ...restore, workflowId }),
      );
      return result;
    },

    async clearCaches(input: ClearCachesInput): Promise<{ cacheEpoch: number }> {
      const { idempotencyKey, ...clear } = input;
      const { result } = await applyOnce(db, { idempotencyKey, activity: 'clearCaches' }, async (tx) => {
        const p = await bumpCacheEpoch(tx, clear);
        return { cacheEpoch: p.cacheEpoch };
      });
      return result;
    },
  };
}
