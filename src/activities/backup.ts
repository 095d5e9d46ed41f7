// The backupLive activity: snapshots the lane (src/store/backups.ts) once per idempotency key,
// heartbeating while the copy runs.
import { Context } from '@temporalio/activity';
import type { Db } from '../platform/db';
import { applyOnce } from '../store/audit';
import { backupIdFor, snapshotLane } from '../store/backups';
import type { BackupInput, BackupRef } from './types';

export function createBackupActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    async backupLive(input: BackupInput): Promise<BackupRef> {
      const backupId = backupIdFor(input.lane, input.idempotencyKey);
      const stop = heartbeatWhileRunning();
      try {
        const { result } = await applyOnce(db, { idempotencyKey: input.idempotencyKey, activity: 'backupLive', workflowId: input.workflowId }, (tx) =>
          snapshotLane(tx, { lane: input.lane, backupId, workflowId: input.workflowId, by: input.by }),
        );
        return result;
      } finally {
        stop();
      }
    },
  };
}

/**
 * The copy is one statement, but the event loop is free while it runs: heartbeat on a timer so a
 * worker that dies mid-copy is noticed within the heartbeat timeout (the SDK throttles the calls).
 * A no-op outside an activity (the CLI's direct calls).
 */
function heartbeatWhileRunning(intervalMs = 1_000): () => void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return () => undefined;
  }
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), intervalMs);
  return () => clearInterval(timer);
}
