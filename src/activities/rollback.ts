// The rollback steps the workflow runs in a non-cancellable scope: put the baseline back on the
// pointer (one statement) and move the cache epoch so every serving cache is dropped. Each is
// applied once per idempotency key, so a rollback delivered twice, or retried after a worker crash,
// changes nothing the second time.
import type { Db } from '../platform/db';
import { applyOnce } from '../store/audit';
import { bumpCacheEpoch, restoreBaselinePointer } from './pointer';
import type { ClearCachesInput, PointerState, RestoreBaselineInput } from './types';

export function createRollbackActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    async restoreBaseline(input: RestoreBaselineInput): Promise<PointerState> {
      const { idempotencyKey, ...restore } = input;
      const { result } = await applyOnce(db, { idempotencyKey, activity: 'restoreBaseline' }, (tx) => restoreBaselinePointer(tx, restore));
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
