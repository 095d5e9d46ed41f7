// Notifications on every phase change and gate verdict: a JSON POST to the bakeoff's webhook, or one
// log line when it has none. A webhook is outside the database, so delivery is at-least-once: the
// audit row is written after a 2xx, and a key already recorded is not sent again.
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../platform/db';
import { recordApplied, wasApplied } from '../store/audit';
import type { NotifyInput, NotifyResult } from './types';

export interface NotifyDeps {
  db: Db;
  /** Where log-line notifications go (default: stdout). */
  log?: (line: string) => void;
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
}

export function createNotifyActivities(deps: NotifyDeps) {
  const log = deps.log ?? ((line: string) => console.log(line));
  const doFetch = deps.fetchImpl ?? fetch;
  return {
    async notify(input: NotifyInput): Promise<NotifyResult> {
      const meta = { idempotencyKey: input.idempotencyKey, activity: 'notify', workflowId: input.workflowId };
      if (await wasApplied(deps.db, input.idempotencyKey)) return { delivered: 'duplicate' };
      const body = {
        workflowId: input.workflowId,
        event: input.event,
        phase: input.phase,
        message: input.message,
        gate: input.gate ?? null,
        dryRun: input.dryRun,
        idempotencyKey: input.idempotencyKey,
      };
      let delivered: NotifyResult['delivered'] = 'log';
      if (input.webhookUrl) {
        let res: Response;
        try {
          res = await doFetch(input.webhookUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': input.idempotencyKey },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(deps.timeoutMs ?? 5_000),
          });
        } catch (err) {
          throw ApplicationFailure.create({ type: 'WebhookUnreachable', message: `webhook ${input.webhookUrl}: ${(err as Error).message}` });
        }
        if (!res.ok) {
          throw ApplicationFailure.create({ type: 'WebhookRejected', message: `webhook ${input.webhookUrl} answered ${res.status}` });
        }
        delivered = 'webhook';
      } else {
        log(`[bakeoff] ${input.workflowId} ${input.event} phase=${input.phase}${input.dryRun ? ' (dry run)' : ''}: ${input.message}`);
      }
      await recordApplied(deps.db, meta, { delivered });
      return { delivered };
    },
  };
}
