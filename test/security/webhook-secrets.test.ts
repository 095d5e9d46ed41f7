// Webhook URLs are secrets (a token in the path or query). A bakeoff names its webhook and the
// worker resolves the name from BAKEOFF_WEBHOOK_<NAME>, so the URL is never in the workflow's input,
// history, status or report; the deprecated inline URL still works, and every message bakeoff writes
// about a webhook (activity failures, which become status events and report lines) shows it redacted.
// Real notify activity against a real local HTTP server, audit rows in real PostgreSQL.
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNotifyActivities } from '../../src/activities/notify';
import { ensurePlatformSchema } from '../../src/store/schema';
import { parseBakeoffInput } from '../../src/client/bakeoff';
import { buildRawInput } from '../../src/cli/bakeoff-input';
import { openDb, type Db } from '../../src/platform/db';
import { ReliabilityRecorder } from '../support/reliability-record';
import { freshPgDatabase } from '../support/serve-fixture';

const recorder = new ReliabilityRecorder('security-webhooks');
const SECRET = `tok-${randomBytes(12).toString('hex')}`;
const candidate = { chunk_size: 256, overlap_ratio: 0.1, jaccard_threshold: 0.9, prefix_policy: 'none', chunk_version: 'v_hook', embedder: 'm', tokenizer: 't', tokenizer_hash: 'deadbeef', created_by: 'x' };

let db: Db;
let server: http.Server;
let base: string;
let answer = 200;
const received: Array<{ url: string; body: { workflowId?: string; event?: string } }> = [];

beforeAll(async () => {
  db = await openDb({ url: await freshPgDatabase(`webhooks_${randomBytes(4).toString('hex')}`) });
  await ensurePlatformSchema(db);
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ url: req.url ?? '', body: JSON.parse(body) });
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.close();
  await db?.close();
});

const key = (s: string) => `hook-${s}-${randomBytes(4).toString('hex')}`;
const msg = { workflowId: 'bakeoff-hooks-1', event: 'phase' as const, phase: 'canary', message: 'stage 1/3', dryRun: false };

/** The failure's message, or '' when the call did not fail. */
async function failure(p: Promise<unknown>): Promise<{ message: string; type?: string; nonRetryable?: boolean }> {
  try {
    await p;
    return { message: '' };
  } catch (err) {
    const e = err as { message: string; type?: string; nonRetryable?: boolean };
    return { message: e.message, type: e.type, nonRetryable: e.nonRetryable };
  }
}

test('a named webhook is resolved from the worker environment and receives the POST', async () => {
  const env = { BAKEOFF_WEBHOOK_OPS_ALERTS: `${base}/hooks/${SECRET}?token=${SECRET}` };
  const { notify } = createNotifyActivities({ db, env, log: () => undefined });
  received.length = 0;
  answer = 200;
  expect(await notify({ ...msg, webhook: 'ops-alerts', idempotencyKey: key('named') })).toEqual({ delivered: 'webhook' });
  expect(received).toEqual([{ url: `/hooks/${SECRET}?token=${SECRET}`, body: expect.objectContaining({ workflowId: msg.workflowId, event: 'phase' }) }]);
  // An unknown name: retryable (a worker that has it may take the retry), naming the variable to set.
  const unknown = await failure(notify({ ...msg, webhook: 'nope', idempotencyKey: key('unknown') }));
  expect(unknown).toMatchObject({ type: 'WebhookUnreachable', nonRetryable: false });
  expect(unknown.message).toContain('BAKEOFF_WEBHOOK_NOPE');
});

test('failures name the webhook redacted: no path, query or user info, for named and inline URLs alike', async () => {
  const closed = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  answer = 500;
  const cases = [
    { name: 'inline URL, 500', input: { webhookUrl: `${base}/hooks/${SECRET}?token=${SECRET}` }, env: {} },
    { name: 'inline URL with user info, 500', input: { webhookUrl: `http://user:${SECRET}@127.0.0.1:${new URL(base).port}/h` }, env: {} },
    { name: 'inline URL, unreachable', input: { webhookUrl: `http://127.0.0.1:${closed}/hooks/${SECRET}` }, env: {} },
    { name: 'named, 500', input: { webhook: 'ops' }, env: { BAKEOFF_WEBHOOK_OPS: `${base}/x/${SECRET}` } },
  ];
  const messages: Record<string, string> = {};
  for (const c of cases) {
    const { notify } = createNotifyActivities({ db, env: c.env, log: () => undefined, timeoutMs: 2_000 });
    messages[c.name] = (await failure(notify({ ...msg, ...c.input, idempotencyKey: key('fail') }))).message;
  }
  const leaked = Object.entries(messages).filter(([, m]) => m.includes(SECRET)).length;
  const failed = Object.values(messages).filter((m) => m !== '').length;
  recorder.input({
    inputClass: 'webhook URLs holding a secret (path, query, user info), failing deliveries',
    tried: cases.length,
    outcome: `${failed} failures, each naming scheme://host/… only; ${leaked} carried the secret`,
    rejected: failed,
    wronglyAccepted: leaked,
    crashes: 0,
    detail: JSON.stringify(messages),
  });
  expect(Object.values(messages).every((m) => m !== '')).toBe(true);
  expect(leaked).toBe(0);
  expect(messages['inline URL, 500']).toContain(`${base}/…`);
  expect(messages['named, 500']).toContain("webhook 'ops'");
});

test('the input takes a webhook name; the CLI sends a name as notifyWebhook and a URL as the deprecated field', () => {
  expect(parseBakeoffInput({ candidate, evalCases: { ref: 'faq:dev' }, requestedBy: 'me', notifyWebhook: 'ops-alerts' }).notifyWebhook).toBe('ops-alerts');
  expect(() => parseBakeoffInput({ candidate, evalCases: { ref: 'faq:dev' }, requestedBy: 'me', notifyWebhook: 'https://hooks.example.com/x' })).toThrow(/notifyWebhook/);
  const flags = { chunkSize: '256', overlap: '0.1', jaccard: '0.9', prefixPolicy: 'none', chunkVersion: 'v_hook', by: 'me' };
  expect(buildRawInput({ ...flags, webhook: 'ops' })).toMatchObject({ notifyWebhook: 'ops' });
  const legacy = buildRawInput({ ...flags, webhook: 'https://hooks.example.com/x' });
  expect(legacy).toMatchObject({ notifyWebhookUrl: 'https://hooks.example.com/x' });
  expect(legacy).not.toHaveProperty('notifyWebhook');
});
