// Heartbeats from data-plane work that also runs outside an activity (scripts, benches, tests): the
// activity context when there is one, and a heartbeat that stops cancelled work at its next safe point.
import { Context } from '@temporalio/activity';

/** The activity context when running as an activity; null in plain calls (scripts, benches). */
export function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

/** Heartbeats `details`; a cancelled activity learns it through the heartbeat and stops here. */
export function heartbeat(details?: unknown): void {
  const ctx = activityContext();
  if (!ctx) return;
  ctx.heartbeat(details);
  if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('activity cancelled');
}
