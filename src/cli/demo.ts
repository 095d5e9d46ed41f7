// `npm run demo`: a real bakeoff dry run on the embedded defaults. A local Temporal dev server
// (reused when one is up), PGlite + pgvector in .bakeoff/, the real embedding model, FAISS and the
// FAQ data; an in-process worker runs every step for real, the pointer is never touched except for the
// shadow stage's mirror. By default the real retrieval service runs in-process with the traffic
// replayer sending the dataset's questions, so the shadow stage judges real mirrored requests.
// The first run ingests the baseline lane and the candidate (minutes); reruns reuse both.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { Command, InvalidArgumentError } from 'commander';
import { startBakeoff } from '../client/bakeoff';
import { defaultShadowFor, isShadowOff } from '../client/shadow-defaults';
import { subsetForTests } from '../data/dataset';
import { createRuntime, runtimeOptionsFromEnv } from '../activities/runtime';
import { CliError } from './errors';
import { lockPglite } from './pglite-lock';
import { ensureBaselineLane } from '../activities/lane-bootstrap';
import { ensureLocalTemporal } from '../platform/local-temporal';
import { ConfigError } from '../platform/temporal-config';
import { defaultCandidate } from '../rag/config';
import { createBakeoffWorker } from '../worker';
import { statusQuery } from '../workflows/messages';
import { loadTrafficQueries, startDemoTraffic, type DemoTraffic } from '../serve/demo-traffic';
import type { QueryModel } from '../serve/caching-encoder';
import { isTerminal, type BakeoffStatus, type Gate } from '../workflows/types';
import { parseDuration } from '../workflows/duration';
import { renderShadow } from './render';

const say = (line: string) => console.log(`[demo] ${line}`);

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function gateTable(gates: Gate[]): string {
  const rows = gates.map((g) => [g.name, fmt(g.value), fmt(g.baseline), g.upper !== undefined ? `${fmt(g.threshold)}..${fmt(g.upper)}` : fmt(g.threshold), g.direction, g.verdict.toUpperCase()]);
  const head = ['gate', 'value', 'baseline', 'threshold', 'direction', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const opts = new Command('demo')
    .description('a real bakeoff dry run on the embedded defaults')
    .option('--cases <n>', 'labelled FAQ cases in the demo corpus (their gold docs + proportional distractors)', positiveInt, 40)
    .option('--soak <duration>', 'compressed soak per canary stage', '5s')
    .option('--traffic <source>', 'drive the real retrieval service in-process during the run: eval-questions, FILE.jsonl or none', 'eval-questions')
    // 90 s, not the dry-run default's 60 s: the demo's one process also runs the service and the replayer.
    .option('--shadow <duration>', 'shadow stage soak (mirrored requests judged before any split), or off', '90s')
    .parse()
    .opts<{ cases: number; soak: string; traffic: string; shadow: string }>();
  const shadowOff = isShadowOff(opts.shadow);
  if (!shadowOff && !parseDuration(opts.shadow).ok) throw new ConfigError(`--shadow ${JSON.stringify(opts.shadow)}: give a duration (e.g. 60s) or off`);

  const storeOptions = runtimeOptionsFromEnv();
  // The embedded store is one process's database: the same refusal as the CLI, the worker and the service.
  if (!storeOptions.databaseUrl && storeOptions.pgliteDir) lockPglite(storeOptions.pgliteDir, 'demo', 'npm run demo');

  const t0 = Date.now();
  // The SDK logs every worker state change at INFO; the demo narrates from the status query instead.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const temporal = await ensureLocalTemporal(say);
  say(`Temporal at ${temporal.address}${temporal.uiUrl ? `, Web UI ${temporal.uiUrl}` : ''}`);

  const dataset = await subsetForTests(opts.cases);
  say(`dataset: ${dataset.cases.length} FAQ cases, ${dataset.docs.length} documents (FAQ-derived, Debian perl-doc + python3.11-doc)`);
  // Notifications ("[bakeoff] …" lines) repeat what the status events already show.
  const log = (line: string) => (line.startsWith('[bakeoff]') ? undefined : say(line));
  const runtime = await createRuntime({ ...storeOptions, dataPlane: { dataset }, log, embedInThread: true });
  say(`store: ${runtime.db.kind === 'pglite' ? 'PGlite + pgvector in .bakeoff/pglite' : 'PostgreSQL (DATABASE_URL)'}`);

  const lane = await ensureBaselineLane({ db: runtime.db, plane: runtime.plane, by: 'demo', log: say });
  say(`baseline lane 'default' serves ${lane.pointer.liveTable}${lane.created ? ' (just created)' : ''}`);

  const embedder = await runtime.plane.embedder('all-MiniLM-L6-v2');
  const candidate = defaultCandidate({ embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash }, undefined, 'demo');

  const taskQueue = `bakeoff-demo-${process.pid}`;
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const worker = await createBakeoffWorker({ connection: nativeConnection, namespace: 'default', taskQueue, activities: runtime.activities });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });

  // The service shares the worker's store object, so this works on the embedded PGlite too. It starts
  // when the shadow stage (or the canary) does: during ingest and evaluation it would only compete with
  // them for the CPU (one process), and nothing judges the lane's traffic before the mirror is set.
  const queries = opts.traffic !== 'none' ? loadTrafficQueries(opts.traffic, () => dataset.cases.map((c) => c.question)) : null;
  let traffic: DemoTraffic | null = null;
  const startTraffic = async () => {
    traffic = await startDemoTraffic({
      db: runtime.db, lane: lane.pointer.lane, indexDir: runtime.plane.indexDir, log: say, queries: queries!,
      loadEmbedder: (name) => runtime.plane.embedder(name) as Promise<QueryModel>,
      trainCases: async () => dataset.cases,
    });
  };
  let final: BakeoffStatus | undefined;
  try {
    await worker.runUntil(async () => {
      const handle = await startBakeoff(
        client,
        {
          candidate,
          evalCases: { ref: 'faq:all', k: 10 },
          dryRun: true,
          dryRunSoak: opts.soak,
          checkInterval: '2s',
          ...(shadowOff ? {} : { shadow: { ...defaultShadowFor(true), soak: opts.shadow } }),
          requestedBy: 'demo',
        },
        { taskQueue, workflowId: `bakeoff-demo-${candidate.chunk_version}-${Date.now().toString(36)}` },
      );
      say(`started dry-run bakeoff ${handle.workflowId}`);
      if (temporal.uiUrl) say(`watch it: ${temporal.uiUrl}/namespaces/default/workflows/${handle.workflowId}`);
      const printed = new Set<string>(); // events are a bounded window, so de-duplicate by content
      const result = handle.result();
      for (let done = false; !done; ) {
        done = await Promise.race([result.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
        const st = await handle.query(statusQuery).catch(() => undefined);
        if (!st) continue;
        for (const e of st.events) {
          const key = `${e.at}|${e.kind}|${e.message}`;
          if (printed.has(key)) continue;
          printed.add(key);
          say(`  ${e.kind.padEnd(10)} ${e.message}`);
        }
        final = st;
        if (queries && !traffic && (st.phase === 'shadow' || st.phase === 'canary')) await startTraffic();
        if (isTerminal(st.phase) && done) break;
      }
      await result;
      final = await handle.query(statusQuery);
    });
  } finally {
    const running = traffic as DemoTraffic | null; // set inside the loop's closure
    if (running) {
      const t = await running.stop();
      say(`traffic: ${t.sent} requests sent, ${t.ok} answered, ${t.failed} failed`);
    }
    await connection.close();
    await nativeConnection.close();
    await runtime.close();
  }

  if (!final) throw new Error('the bakeoff returned no status');
  console.log(`\n=== bakeoff dry run: ${final.phase}, offline verdict ${String(final.verdict).toUpperCase()} ===\n`);
  console.log(gateTable(final.gates));
  // The offline gates' reasons carry the paired interval each verdict was read from.
  for (const g of final.gates.filter((x) => x.source === 'offline')) console.log(`  ${g.name}: ${g.reason}`);
  if (final.shadow) {
    console.log(`\nshadow stage: ${renderShadow(final.shadow).join('\n  ')}`);
    if (final.shadow.live.lastGates.length > 0) console.log(gateTable(final.shadow.live.lastGates));
  }
  if (final.live.checks > 0) {
    console.log(`\nlive checks: ${final.live.checks} (${final.live.passes} pass, ${final.live.fails} fail, ${final.live.inconclusive} inconclusive)`);
  }
  console.log(`\nconfig ${final.configHash?.slice(0, 12)} (${candidate.chunk_version}), ingest run ${final.ingestRunId}, scratch table ${final.shadowTable}`);
  console.log(`pointer untouched (dry run${final.shadow ? '; the shadow stage set and cleared the mirror only' : ''}). Took ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
  if (temporal.uiUrl) console.log(`Temporal Web UI: ${temporal.uiUrl}  (the dev server keeps running; stop it with: npm run stop)`);
}

main().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof CliError ? `demo: ${err.message}` : err);
  process.exit(1);
});
