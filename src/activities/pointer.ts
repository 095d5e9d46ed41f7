// The pointer activities: read the lane's pointer, and set the canary split. The SQL lives in
// src/store/pointer.ts; this file adds what an activity needs around it: exactly-once through the
// audit table, and heartbeats with cancellation, so a split the workflow has cancelled (a rollback
// started meanwhile) stops before it writes instead of landing after the restore.
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Db } from '../platform/db';
import { applyOnce } from '../store/audit';
import { clearMirrorTarget, requirePointer, setMirrorTarget, setSplit } from '../store/pointer';
import type { ClearMirrorInput, PointerState, SetMirrorInput, SetTrafficSplitInput } from './types';

/** The activity context when running as an activity; null in plain calls (scripts, tests). */
function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

/** Throws if the workflow has cancelled this activity (learnt through a heartbeat's response). */
function throwIfCancelled(ctx: Context | null): void {
  if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new CancelledFailure('setTrafficSplit cancelled');
}

export function createPointerActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    async readPointer(input: { lane: string }): Promise<PointerState> {
      return requirePointer(db, input.lane);
    },

    async setTrafficSplit(input: SetTrafficSplitInput): Promise<PointerState> {
      const { idempotencyKey, ...split } = input;
      const ctx = activityContext();
      // Heartbeat while waiting for the lane lock too: that is where a rollback's restore holds us up.
      ctx?.heartbeat();
      const timer = ctx ? setInterval(() => ctx.heartbeat(), 500) : null;
      try {
        throwIfCancelled(ctx);
        const { result } = await applyOnce(db, { idempotencyKey, activity: 'setTrafficSplit', workflowId: input.workflowId }, (tx) =>
          setSplit(tx, split, { beforeWrite: () => throwIfCancelled(ctx) }),
        );
        return result;
      } finally {
        if (timer) clearInterval(timer);
      }
    },

    /** Shadow traffic (issue 14): the one pointer change a dry run makes; nothing it sets is ever served. */
    async setMirror(input: SetMirrorInput): Promise<PointerState> {
      const { idempotencyKey, ...mirror } = input;
      const ctx = activityContext();
      ctx?.heartbeat();
      throwIfCancelled(ctx);
      const { result } = await applyOnce(db, { idempotencyKey, activity: 'setMirror', workflowId: input.workflowId }, (tx) =>
        setMirrorTarget(tx, mirror, { beforeWrite: () => throwIfCancelled(ctx) }),
      );
      return result;
    },

    /** Safe on every exit path: a no-op when nothing (or another bakeoff's target) is mirrored. */
    async clearMirror(input: ClearMirrorInput): Promise<PointerState> {
      const { idempotencyKey, ...clear } = input;
      const { result } = await applyOnce(db, { idempotencyKey, activity: 'clearMirror', workflowId: input.workflowId }, (tx) => clearMirrorTarget(tx, clear));
      return result;
    },
  };
}
