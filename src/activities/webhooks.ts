// Notification webhooks without their secrets in Temporal. A webhook URL often is a bearer secret
// (a Slack or Teams hook, a token in the path or query), and whatever a workflow is given lands in
// its history, its status and its reports. So a bakeoff names its webhook (`notifyWebhook: "ops"`)
// and the worker resolves the name from its own environment (BAKEOFF_WEBHOOK_OPS=https://…). The old
// `notifyWebhookUrl` still works (deprecated: its URL is in the start event's input), and wherever
// bakeoff itself writes a URL — failure messages, hence status events and reports — it writes the
// redacted form from redactWebhookUrl.
import { ApplicationFailure } from '@temporalio/common';

export const WEBHOOK_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

/** The worker variable that holds a webhook's URL: `ops-alerts` → BAKEOFF_WEBHOOK_OPS_ALERTS. */
export function webhookEnvVar(name: string): string {
  return `BAKEOFF_WEBHOOK_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Scheme and host only (`https://hooks.example.com/…`): no user info, path, query or fragment. */
export function redactWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(an invalid URL)';
  }
}

/** `text` with every spelling of `url` in it replaced by its redacted form (fetch errors may quote it). */
export function scrubWebhookUrl(text: string, url: string): string {
  let out = text;
  const forms = [url];
  try {
    forms.push(new URL(url).href);
  } catch {
    // not a URL: only the string as given can appear
  }
  for (const form of forms) if (form) out = out.split(form).join(redactWebhookUrl(url));
  return out;
}

/**
 * The URL to POST to: a named webhook from the worker's environment, else the deprecated inline URL,
 * else none. An unknown name is retryable: a worker configured with it may take the retry.
 */
export function resolveWebhook(input: { webhook?: string; webhookUrl?: string }, env: NodeJS.ProcessEnv): { url: string; shown: string } | null {
  if (input.webhook) {
    const variable = webhookEnvVar(input.webhook);
    const url = env[variable];
    if (!url) {
      throw ApplicationFailure.create({ type: 'WebhookUnreachable', message: `webhook '${input.webhook}' is not configured on this worker: set ${variable} to its URL` });
    }
    return { url, shown: `webhook '${input.webhook}' (${redactWebhookUrl(url)})` };
  }
  if (input.webhookUrl) return { url: input.webhookUrl, shown: `webhook ${redactWebhookUrl(input.webhookUrl)}` };
  return null;
}
