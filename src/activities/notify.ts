// Notifications on every phase change and gate verdict: a JSON POST to the bakeoff's webhook, or one
// log line when it has none. A webhook is outside the database, so delivery is at-least-once: the
// audit row is written after a 2xx, and a key already recorded is not sent again. The webhook is
// named by the bakeoff and resolved here from the worker's environment (webhooks.ts), so its URL —
// often a secret — stays out of history; errors show only its redacted form.
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../platform/db';
import { recordApplied, wasApplied } from '../store/audit';
import type { NotifyInput, NotifyResult } from './types';
import { resolveWebhook, scrubWebhookUrl } from './webhooks';

export interface NotifyDeps {
  db: Db;
  /** Where log-line notifications go (default: stdout). */
  log?: (line: string) => void;
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
  /** Where named webhooks are looked up (BAKEOFF_WEBHOOK_<NAME>); default process.env. */
  env?: NodeJS.ProcessEnv;
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
      const webhook = resolveWebhook(input, deps.env ?? process.env);
      if (webhook) {
        let res: Response;
        try {
          res = await doFetch(webhook.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': input.idempotencyKey },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(deps.timeoutMs ?? 5_000),
          });
        } catch (err) {
          // fetch's own message may quote the URL (e.g. one with credentials): scrubbed to the redacted form.
          throw ApplicationFailure.create({ type: 'WebhookUnreachable', message: `${webhook.shown}: ${scrubWebhookUrl((err as Error).message, webhook.url)}` });
        }
        if (!res.ok) {
          throw ApplicationFailure.create({ type: 'WebhookRejected', message: `${webhook.shown} answered ${res.status}` });
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
