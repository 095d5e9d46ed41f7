// Security of a real bakeoff run (real workflow on the dev server, a worker process with the real
// activities) whose worker is configured with secrets — a TEMPORAL_API_KEY and a password in
// DATABASE_URL:
//   - neither secret appears in any workflow history (payloads decoded), in the worker's log, in the
//     reports (files and bakeoff_reports), the audit table or the pointer history;
//   - every operator action (approve, pause, extend, resume, rollback) records who and why, in the
//     status, the final report and the pointer history;
//   - every server bakeoff starts listens on loopback only (Temporal dev server, PostgreSQL, the
//     retrieval service), and the README documents every Temporal TLS / API-key setting.
// Parsing of those settings is tested in test/platform/temporal-config.test.ts.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pointerHistory } from '../../src/store/pointer';
import { startBakeoff } from '../../src/client/bakeoff';
import { loadTemporalSettings, TemporalEnv } from '../../src/platform/temporal-config';
import { startServing } from '../../src/serve/app';
import { loadServeEnv } from '../../src/serve/main';
import type { bakeoff } from '../../src/workflows/bakeoff';
import { approveUpdate, extendSoakUpdate } from '../../src/workflows/messages';
import type { BakeoffStatus } from '../../src/workflows/types';
import { chaosInput } from '../chaos/chaos-input';
import { ChaosRun } from '../chaos/chaos-run';
import { createWorld, type World } from '../chaos/world';
import { chaosSeed, ReliabilityRecorder, seededRandom } from '../support/reliability-record';

jest.setTimeout(10 * 60_000);

const TEMPORAL = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;
const PG = process.env.BAKEOFF_TEST_PG_URL!;
const REPO = path.resolve(__dirname, '..', '..');
const recorder = new ReliabilityRecorder('security');
const log = (line: string) => process.stderr.write(`${line}\n`);

const API_KEY = `bk-api-${randomBytes(12).toString('hex')}`;
const DB_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
/** A webhook whose URL holds a token, given the deprecated inline way; it answers 500, so every notification fails. */
const WEBHOOK_TOKEN = `hook-${randomBytes(12).toString('hex')}`;

/** Every form a secret could take in text: as is, URL-encoded, base64 at each alignment. */
function secretForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret)]);
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.from('x'.repeat(shift) + secret).toString('base64');
    // Drop the characters that depend on the padding prefix and on what follows.
    forms.add(b64.slice(Math.ceil((shift * 4) / 3) + 1, -4));
  }
  return [...forms].filter((f) => f.length >= 12);
}

/** A fetched history as JSON; bytes (payload data, failure details) become base64, as on the wire. */
function historyJson(h: unknown): string {
  return JSON.stringify(h, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    // A Buffer has already been through its toJSON() when the replacer sees it.
    const b = v as { type?: unknown; data?: unknown };
    if (b && typeof b === 'object' && b.type === 'Buffer' && Array.isArray(b.data)) return Buffer.from(b.data as number[]).toString('base64');
    return v;
  });
}

/** A history as JSON, with every payload's bytes decoded next to it (payload data is base64 there). */
function historyText(json: string): string {
  const decoded: string[] = [];
  for (const m of json.matchAll(/"data"\s*:\s*"([A-Za-z0-9+/=]+)"/g)) decoded.push(Buffer.from(m[1], 'base64').toString('utf8'));
  return `${json}\n${decoded.join('\n')}`;
}

function findSecrets(where: string, text: string, secrets: Record<string, string>): string[] {
  const hits = new Set<string>();
  for (const [name, secret] of Object.entries(secrets)) for (const form of secretForms(secret)) if (text.includes(form)) hits.add(`${name} in ${where}`);
  return [...hits];
}

/** Local addresses of listening TCP sockets on a port, from /proc/net/tcp{,6} (hex → dotted). */
function listenAddresses(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue; // 0A = LISTEN
      const [addrHex, portHex] = cols[1].split(':');
      if (parseInt(portHex, 16) !== port) continue;
      if (addrHex.length === 8) out.push((addrHex.match(/../g) ?? []).reverse().map((h) => parseInt(h, 16)).join('.'));
      else out.push(addrHex === '0'.repeat(32) ? '::' : addrHex === '00000000000000000000000001000000' ? '::1' : `v6:${addrHex}`);
    }
  }
  return out;
}

describe('secrets stay out of histories and logs; operators are on record; loopback by default', () => {
  let world: World;
  let connection: Connection;
  let client: Client;
  let run: ChaosRun;
  let handle: WorkflowHandle<typeof bakeoff>;
  let final: BakeoffStatus;
  const lane = 'seclane';
  const taskQueue = `security-${chaosSeed()}-${Date.now()}`;

  let hook: http.Server;
  let hookCalls = 0;

  beforeAll(async () => {
    hook = http.createServer((req, res) => {
      hookCalls++;
      req.resume();
      req.on('end', () => {
        res.statusCode = 500;
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/${WEBHOOK_TOKEN}?token=${WEBHOOK_TOKEN}`;
    world = await createWorld({ serverUrl: PG, name: 'security' });
    // The client side runs with the API key too (the dev server accepts and ignores it; no TLS here).
    const settings = loadTemporalSettings({ TEMPORAL_ADDRESS: TEMPORAL, TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false', TEMPORAL_ALLOW_INSECURE_API_KEY: '1' });
    expect(settings.connection.apiKey).toBe(API_KEY);
    connection = await Connection.connect({ address: TEMPORAL, ...settings.connection });
    client = new Client({ connection });
    await world.lane(lane);
    // The cluster trusts loopback, so any password is accepted: what matters is where it could leak.
    const withPassword = new URL(world.databaseUrl);
    withPassword.password = DB_PASSWORD;
    run = new ChaosRun({
      world, client, temporalAddress: TEMPORAL, taskQueue, name: 'security', lane, ramp: [20], candidateTable: 'document_chunks_v450_sec',
      random: seededRandom(chaosSeed()), log, databaseUrl: withPassword.toString(),
      workerEnv: { TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false', TEMPORAL_ALLOW_INSECURE_API_KEY: '1', WORKER_LOG_LEVEL: 'DEBUG' },
    });
    await run.startWorker();
    const input = { ...chaosInput(world, { lane, chunkVersion: 'v450_sec', ramp: [{ percent: 20, soak: '30m' }], checkInterval: '2s' }), notifyWebhookUrl: hookUrl };
    handle = await startBakeoff(client, input, { taskQueue, workflowId: `security-${Date.now()}` });

    // Operator actions, each with who and why, as the CLI sends them.
    await run.waitFor(handle, 'awaiting-operator', (s) => s.phase === 'awaiting-operator');
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'alice', reason: 'inconclusive only on dedup rate; corpus is tiny' }] });
    await run.waitFor(handle, 'canary', (s) => s.phase === 'canary' && !!s.stage);
    await handle.signal('pause', { by: 'bob', reason: 'dashboards look odd' });
    await run.waitFor(handle, 'paused', (s) => s.paused);
    await handle.executeUpdate(extendSoakUpdate, { args: [{ duration: '10m', by: 'bob' }] });
    await handle.signal('resume', { by: 'carol' });
    await run.waitFor(handle, 'resumed', (s) => !s.paused);
    await handle.signal('rollback', { by: 'dave', reason: 'p95 regression seen by on-call' });
    final = (await run.finish(handle, 180_000)).status;
  });

  afterAll(async () => {
    hook?.close();
    await run?.close();
    await connection?.close();
    await world?.close();
  });

  test('the scanner finds a planted secret (so an empty result means something)', () => {
    const planted = historyText(historyJson({ payload: { data: Buffer.from(`{"url":"postgres://u:${DB_PASSWORD}@h/db"}`) } }));
    expect(findSecrets('planted', planted, { DB_PASSWORD })).toEqual(['DB_PASSWORD in planted']);
    expect(findSecrets('planted', `key=${encodeURIComponent(API_KEY)}`, { API_KEY })).toEqual(['API_KEY in planted']);
  });

  test('no secret in any workflow history, worker log, report, audit row or pointer history', async () => {
    // The inline webhook URL is in the start input, hence in history, by design (deprecated for that
    // reason: notifyWebhook names it instead); everywhere bakeoff writes, it must appear redacted.
    const secrets = { API_KEY, DB_PASSWORD, WEBHOOK_TOKEN };
    const hits: string[] = [];
    const scanned: Record<string, number> = {};
    const scan = (where: string, text: string) => {
      scanned[where] = (scanned[where] ?? 0) + text.length;
      const { WEBHOOK_TOKEN: _inInput, ...historySecrets } = secrets;
      hits.push(...findSecrets(where, text, where === 'workflow history' ? historySecrets : secrets));
    };
    // The failing webhook was called and its failures reached the status (so a clean scan means redaction).
    expect(hookCalls).toBeGreaterThan(0);
    expect(final.events.some((e) => /notification failed .*webhook http:\/\/127\.0\.0\.1:\d+\/… answered 500/.test(e.message))).toBe(true);
    // Every workflow on this task queue, every run of each.
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) ids.push(wf.workflowId);
    expect(ids).toContain(handle.workflowId);
    let events = 0;
    let decodedSeen = false;
    for (const id of ids) {
      let runId: string | undefined;
      for (let guard = 0; guard < 100; guard++) {
        const h = await client.workflow.getHandle(id, runId).fetchHistory();
        events += h.events?.length ?? 0;
        const text = historyText(historyJson(h));
        // Payloads really were decoded: the operator's rollback reason is inside one.
        if (id === handle.workflowId) decodedSeen ||= text.includes('p95 regression seen by on-call');
        scan('workflow history', text);
        const next = h.events?.[h.events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
        if (!next || runId === next) break;
        runId = next;
      }
    }
    expect(decodedSeen).toBe(true);
    scan('worker log', fs.readFileSync(run.logFile, 'utf8'));
    const reportsDir = path.join(world.stateDir, 'reports');
    for (const f of fs.existsSync(reportsDir) ? fs.readdirSync(reportsDir) : []) scan('report files', fs.readFileSync(path.join(reportsDir, f), 'utf8'));
    for (const [table, where] of [['bakeoff_reports', 'bakeoff_reports'], ['activity_audit', 'activity_audit'], ['serving_pointer_history', 'pointer history'], ['backup_catalog', 'backup_catalog']]) {
      const r = await world.db.query(`SELECT row_to_json(t)::text AS j FROM ${table} t`);
      scan(where, r.rows.map((x) => String((x as { j: string }).j)).join('\n'));
    }
    // The log did see the run (so an empty scan is not an empty log).
    expect(scanned['worker log']).toBeGreaterThan(1000);
    expect(fs.readFileSync(run.logFile, 'utf8')).toContain('activity shadowIngest');
    recorder.measure({ name: 'secret scan', value: hits.length === 0 ? 'no secret found' : `${hits.length} secret(s) found`, detail: `${ids.length} workflow(s), ${events} history events, ${Object.entries(scanned).map(([k, v]) => `${k} ${(v / 1024).toFixed(0)} kB`).join(', ')}` });
    recorder.input({ inputClass: 'secrets (TEMPORAL_API_KEY, DATABASE_URL password) configured on the worker; a token in an inline webhook URL', tried: 3, outcome: `absent from ${events} history events (payloads decoded; the inline webhook URL excepted: it is the start input), the worker log, reports, audit and pointer history; ${hookCalls} failed webhook calls reported redacted`, rejected: 0, wronglyAccepted: hits.length, crashes: 0 });
    expect(hits).toEqual([]);
  });

  test('every operator action records who and why', async () => {
    expect(final.phase).toBe('rolled-back');
    expect(final.approvals).toEqual([expect.objectContaining({ by: 'alice', reason: 'inconclusive only on dedup rate; corpus is tiny' })]);
    const byOf = (re: RegExp) => final.events.find((e) => re.test(e.message));
    expect(byOf(/^paused by bob: dashboards look odd/)).toMatchObject({ by: 'bob' });
    expect(byOf(/extended by 10m by bob/)).toMatchObject({ by: 'bob' });
    expect(byOf(/^resumed by carol/)).toMatchObject({ by: 'carol' });
    expect(byOf(/^approved by alice: inconclusive only on dedup rate/)).toMatchObject({ by: 'alice' });
    expect(byOf(/^rollback requested by dave: p95 regression seen by on-call/)).toMatchObject({ by: 'dave' });
    expect(final.rollback).toMatchObject({ by: 'dave', reason: 'p95 regression seen by on-call', automatic: false });
    // Every operator event names its operator.
    const operatorEvents = final.events.filter((e) => (e.kind === 'signal' || e.kind === 'update') && !/^ignored/.test(e.message));
    expect(operatorEvents.length).toBeGreaterThanOrEqual(5);
    expect(operatorEvents.filter((e) => !e.by)).toEqual([]);
    // The pointer history says who moved the pointer back and why; the report keeps the whole record.
    const restore = (await pointerHistory(world.db, lane)).find((h) => h.action === 'restore');
    expect(restore).toMatchObject({ updatedBy: 'dave (rollback)', reason: 'p95 regression seen by on-call' });
    const report = await world.db.query<{ status: BakeoffStatus }>(`SELECT status FROM bakeoff_reports WHERE workflow_id = $1 AND phase = 'rolled-back'`, [handle.workflowId]);
    expect(report.rows[0].status.rollback).toMatchObject({ by: 'dave', reason: 'p95 regression seen by on-call' });
    expect(report.rows[0].status.approvals[0]).toMatchObject({ by: 'alice' });
    recorder.measure({ name: 'operator actions on record', value: operatorEvents.length, detail: 'approve, pause, extendSoak, resume, rollback: who in status events, approvals, rollback record, pointer history (restore) and the final report' });
  });

  test('every server bakeoff starts listens on loopback only; the README documents every Temporal setting', async () => {
    const temporalPort = Number(TEMPORAL.split(':')[1]);
    const pgPort = Number(new URL(PG).port);
    expect(listenAddresses(temporalPort)).toEqual(['127.0.0.1']);
    expect(listenAddresses(pgPort)).toEqual(['127.0.0.1']);
    const listen = await world.db.query<{ listen_addresses: string }>('SHOW listen_addresses');
    expect(listen.rows[0].listen_addresses).toBe('127.0.0.1');

    expect(loadServeEnv({}).BAKEOFF_SERVE_HOST).toBe('127.0.0.1');
    const svc = await startServing({ db: world.db, lane, tau: 0.5, indexDir: path.join(world.stateDir, 'indexes'), loadEmbedder: async () => world.embedder, defaultMetrics: false, http: { port: 0 } });
    try {
      const port = Number(new URL(svc.url).port);
      expect(new URL(svc.url).hostname).toBe('127.0.0.1');
      expect(listenAddresses(port)).toEqual(['127.0.0.1']);
    } finally {
      await svc.close();
    }

    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const settings = Object.keys(TemporalEnv.shape).filter((k) => k.startsWith('TEMPORAL_'));
    expect(settings.length).toBeGreaterThanOrEqual(7);
    expect(settings.filter((k) => !readme.includes(k))).toEqual([]);
    recorder.measure({ name: 'listening addresses', value: '127.0.0.1 only', detail: 'Temporal dev server, PostgreSQL (listen_addresses), retrieval service default; README documents TEMPORAL_TLS*, TEMPORAL_API_KEY' });
  });
});
