// The platform's smoke workflow: one durable timer, one signal, one query. It proves a server,
// a worker and a client agree before anything heavier runs (and is what `npm test` checks first).
import type { Duration } from '@temporalio/common';
import { condition, defineQuery, defineSignal, setHandler, sleep } from '@temporalio/workflow';

export interface SmokeInput {
  /** Timer length, e.g. '2s' or '48h' (a time-skipping server makes the latter instant). */
  sleep: Duration;
  /** How long to wait for the ack signal after the timer. */
  ackTimeout: Duration;
}

export interface SmokeState {
  phase: 'sleeping' | 'awaiting-ack' | 'done' | 'timed-out';
  ackedBy?: string;
}

export const smokeAckSignal = defineSignal<[{ by: string }]>('smokeAck');
export const smokeStateQuery = defineQuery<SmokeState>('smokeState');

export async function smoke(input: SmokeInput): Promise<SmokeState> {
  const state: SmokeState = { phase: 'sleeping' };
  setHandler(smokeStateQuery, () => state);
  setHandler(smokeAckSignal, ({ by }) => {
    state.ackedBy = by;
  });
  await sleep(input.sleep);
  state.phase = 'awaiting-ack';
  const acked = await condition(() => state.ackedBy !== undefined, input.ackTimeout);
  state.phase = acked ? 'done' : 'timed-out';
  return state;
}
