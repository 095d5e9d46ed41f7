// Data-plane commands outside a bakeoff: `ingest` (a candidate into its shadow table, or the lane's
// first baseline), `eval` (one table on a labelled case set) and `sweep-nprobe` (IVF recall/latency per
// nprobe against the flat index). They run the same code the worker's activities run, in this process.
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { readPointer } from '../../store/pointer';
import type { PointerState } from '../../activities/types';
import { homeOf, storeOptions } from '../home';
import { lockCorpusSnapshot } from '../../data/locked-corpus';
import { RegistryError } from '../../data/registry';
import { ensureBaselineLane } from '../../activities/lane-bootstrap';
import { ConfigValidationError, lockConfig } from '../../rag/config';
import { FaissIndex } from '../../rag/faiss-index';
import { runNprobeSweep } from '../../rag/nprobe-sweep';
import { readIndexPointer, readTableVectors } from '../../rag/serving-index';
import { buildRawInput } from '../bakeoff-input';
import { exitWith, type CliContext } from '../context';
import { CliError, innermostMessage } from '../errors';
import { EXIT } from '../exit-codes';
import { formatNumber, renderTable } from '../render';
import { defaultActor } from '../target';
import { runtimeFor, sampleOption } from './runtime-options';
import { checkLane } from './store';

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} ${JSON.stringify(v)}: must be a whole number ≥ 1`);
  return n;
}

/** Activity failures carry the data plane's own words; show those, not the wrapper. */
function planeError(err: unknown): CliError {
  return err instanceof CliError ? err : new CliError(innermostMessage(err));
}

/** What `ingest --baseline` found instead of ingesting, and the two ways to start over. */
export function existingLaneHint(lane: string, p: PointerState, store: { databaseUrl?: string | null; pgliteDir?: string | null }): string {
  const fresh = store.databaseUrl
    ? `a fresh database in DATABASE_URL`
    : `stop every bakeoff process (worker, service), then \`rm -rf ${store.pgliteDir ?? '.bakeoff/pglite'}\` (the embedded store: every lane, backup and audit row in it)`;
  return (
    `nothing ingested: lane '${lane}' already exists (pointer v${p.version}, last changed by ${p.updatedBy} at ${p.updatedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}` +
    `${p.reason ? `: ${p.reason}` : ''}) and is used as it is, whatever --sample says. ` +
    `To start over: another lane (--lane NAME, then baseline.lane in the bakeoff input), or ${fresh}`
  );
}

export function registerDataCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;

  program
    .command('ingest')
    .description('shadow-ingest a candidate config into its table (or, with --baseline, create a lane\'s live baseline)')
    .option('-c, --config <file>', 'candidate config (or bakeoff input), JSON or YAML')
    .option('--chunk-size <tokens>').option('--overlap <ratio>').option('--jaccard <threshold>').option('--prefix-policy <A|B|none>')
    .option('--embedder <name>').option('--chunk-version <version>')
    .option('--table <name>', 'target table (default: the config\'s shadow table document_chunks_<chunk_version>_<hash8>); a table a lane serves or another run holds is refused')
    .option('--baseline', 'create the lane\'s baseline (the seeds\' baseline config) and its pointer, if the lane has none')
    .option('--lane <lane>', 'with --baseline: the lane', 'default')
    .option('--sample <cases>', 'only this many labelled cases and their share of the corpus')
    .option('--by <name>', 'who is acting (default $USER)')
    .action(exitWith(ctx, async (opts: Record<string, string | undefined> & { baseline?: boolean }) => {
      const by = opts.by ?? defaultActor(ctx.env);
      const sample = sampleOption(opts.sample);
      const rt = await runtimeFor(ctx, sample, 'ingest');
      try {
        if (opts.baseline) {
          const lane = checkLane(opts.lane ?? 'default');
          const r = await ensureBaselineLane({ db: rt.db, plane: rt.plane, lane, by, log: (l) => io.err(l) }).catch((e) => {
            throw planeError(e);
          });
          io.out(`lane ${lane}: ${r.created ? 'created with' : 'already has'} live table ${r.pointer.liveTable} (config ${r.pointer.liveConfigHash?.slice(0, 16) ?? '?'}…, pointer v${r.pointer.version})`);
          // An existing lane (the demo's, say) is reused as it is: say so, and how to start over.
          if (!r.created) io.err(existingLaneHint(lane, r.pointer, storeOptions(ctx.env)));
          return EXIT.OK;
        }
        const raw = buildRawInput({ ...opts, by } as never);
        let locked;
        try {
          locked = lockCorpusSnapshot(lockConfig(raw.candidate), homeOf(ctx.env));
        } catch (err) {
          if (err instanceof ConfigValidationError) throw new CliError(`${opts.config ? `${opts.config}: ` : ''}invalid candidate config:\n${err.issues.map((i) => `  ${i}`).join('\n')}`);
          if (err instanceof RegistryError) throw new CliError(`${opts.config ? `${opts.config}: ` : ''}${err.message}`);
          throw err;
        }
        const table = opts.table ?? locked.shadow_table;
        io.err(`ingesting ${locked.ingest_run_id} into ${table}${sample ? ` (sample of ${sample} cases)` : ''}`);
        // Refused (one line, as a bakeoff's shadowIngest is) when a lane serves the table or another run holds it.
        const report = await rt.plane.shadowIngest({ locked, table, dryRun: false }, { claimant: `ingest:${by}@${os.hostname()}:${process.pid}` }).catch((e) => {
          throw planeError(e);
        });
        io.out(`${report.table}: ${report.chunks} chunks from ${report.documents} documents, ${report.duplicatesRemoved} near-duplicates removed (${(report.dedupRate * 100).toFixed(1)} %), ${(report.durationMs / 1000).toFixed(1)} s`);
        if (report.index) io.out(`indexes: flat ${report.index.flat}, IVF ${report.index.ivf}`);
        io.out(`ingest run ${report.ingestRunId} · config ${locked.config_hash}`);
        return EXIT.OK;
      } finally {
        await rt.close();
      }
    }));

  program
    .command('eval')
    .description('evaluate one table on labelled cases: hit@k, recall, MRR, nDCG, reader F1/precision, latency per stage')
    .option('--table <name>', 'table to evaluate (default: the lane\'s live table)')
    .option('--lane <lane>', 'lane whose live table is the default', 'default')
    .option('--cases <ref>', 'case set NAME:split: faq:dev, faq:train, faq:all (the bundled FAQ) or a registered dataset\'s, e.g. mydocs:test (see bakeoff dataset list)', 'faq:dev')
    .option('--k <n>', 'retrieval depth', '10')
    .option('--max-cases <n>', 'only the first n cases')
    .option('--sample <cases>', 'only this many labelled cases and their share of the corpus (must match the ingest)')
    .option('--json', 'print the report as JSON')
    .action(exitWith(ctx, async (opts: { table?: string; lane: string; cases: string; k: string; maxCases?: string; sample?: string; json?: boolean }) => {
      const k = positiveInt('k', opts.k)!;
      const maxCases = positiveInt('max-cases', opts.maxCases);
      const lane = checkLane(opts.lane);
      const rt = await runtimeFor(ctx, sampleOption(opts.sample), 'eval');
      try {
        const pointer = await readPointer(rt.db, lane);
        const table = opts.table ?? pointer?.liveTable;
        if (!table) throw new CliError(`lane '${lane}' has no pointer: give --table, or create the lane (bakeoff ingest --baseline)`);
        const isLive = pointer?.liveTable === table;
        const report = await rt.plane
          .evaluate({ side: isLive ? 'baseline' : 'candidate', table, index: isLive ? pointer!.liveIndex : null, caseSetRef: opts.cases, k, maxCases, runLabel: `cli/${table}/${Date.now()}` })
          .catch((e) => {
            throw planeError(e);
          });
        if (opts.json) io.out(JSON.stringify(report, null, 2));
        else {
          io.out(`${report.table} on ${opts.cases}${maxCases ? `[:${maxCases}]` : ''}: ${report.cases} cases, k=${report.k}`);
          io.out(renderTable(['METRIC', 'VALUE'], Object.entries(report.metrics).map(([m, v]) => [m, formatNumber(v)])));
          io.out('');
          io.out(renderTable(['STAGE', 'P50 MS', 'P95 MS'], Object.entries(report.latencyMs).map(([s, l]) => [s, formatNumber(l.p50), formatNumber(l.p95)])));
          if (report.manifest) io.out(`manifest: ${report.manifest}`);
        }
        return EXIT.OK;
      } finally {
        await rt.close();
      }
    }));

  program
    .command('sweep-nprobe')
    .description('IVF overlap@k with the exact (flat) index and latency for each nprobe, and the smallest nprobe meeting the target')
    .requiredOption('--table <name>', 'table whose FAISS indexes to sweep (built by its ingest)')
    .option('--nprobes <list>', 'comma-separated nprobe values (default: powers of two up to nlist)')
    .option('--queries <n>', 'number of queries', '200')
    .option('--query-source <questions|table>', 'embedded training questions (real queries) or stored chunk vectors', 'questions')
    .option('--k <n>', 'depth compared', '10')
    .option('--min-overlap <fraction>', 'overlap@k target', '0.95')
    .option('--max-p95-ms <ms>', 'optional latency ceiling for the IVF p95')
    .option('--sample <cases>', 'with --query-source questions: the dataset sample')
    .option('--json', 'print the sweep as JSON')
    .action(exitWith(ctx, async (opts: { table: string; nprobes?: string; queries: string; querySource: string; k: string; minOverlap: string; maxP95Ms?: string; sample?: string; json?: boolean }) => {
      if (opts.querySource !== 'questions' && opts.querySource !== 'table') throw new CliError(`--query-source ${JSON.stringify(opts.querySource)}: must be questions or table`);
      const nQueries = positiveInt('queries', opts.queries)!;
      const k = positiveInt('k', opts.k)!;
      const minOverlap = Number(opts.minOverlap);
      if (!(minOverlap >= 0 && minOverlap <= 1)) throw new CliError(`--min-overlap ${JSON.stringify(opts.minOverlap)}: must be between 0 and 1`);
      const maxP95Ms = opts.maxP95Ms === undefined ? undefined : Number(opts.maxP95Ms);
      if (maxP95Ms !== undefined && !(maxP95Ms > 0)) throw new CliError(`--max-p95-ms ${JSON.stringify(opts.maxP95Ms)}: must be a positive number`);
      const rt = await runtimeFor(ctx, sampleOption(opts.sample), 'sweep-nprobe');
      try {
        const pointer = readIndexPointer(rt.plane.indexDir, opts.table);
        if (!pointer) throw new CliError(`no FAISS indexes recorded for ${opts.table} under ${rt.plane.indexDir} (they are built by its ingest: bakeoff ingest)`);
        let flat: FaissIndex;
        let ivf: FaissIndex;
        try {
          flat = FaissIndex.load(pointer.flat);
          ivf = FaissIndex.load(pointer.ivf);
        } catch (err) {
          throw new CliError(`cannot load the indexes of ${opts.table}: ${(err as Error).message}`);
        }
        const nlist = ivf.nlist ?? 1;
        const nprobes = opts.nprobes
          ? opts.nprobes.split(',').map((x) => {
              const n = Number(x.trim());
              if (!Number.isInteger(n) || n < 1) throw new CliError(`--nprobes: ${JSON.stringify(x)} is not a whole number ≥ 1`);
              return n;
            })
          : [...Array.from({ length: Math.ceil(Math.log2(Math.max(2, nlist))) }, (_, i) => 2 ** i).filter((n) => n < nlist), nlist];
        let queries: Float32Array;
        if (opts.querySource === 'table') {
          const { vectors, dim, ids } = await readTableVectors(rt.db, opts.table);
          const step = Math.max(1, Math.floor(ids.length / nQueries));
          const picked: number[] = [];
          for (let i = 0; i < ids.length && picked.length < nQueries; i += step) picked.push(i);
          queries = new Float32Array(picked.length * dim);
          picked.forEach((row, j) => queries.set(vectors.subarray(row * dim, (row + 1) * dim), j * dim));
        } else {
          const dataset = await rt.plane.dataset();
          const questions = dataset.cases.filter((c) => c.split === 'train').slice(0, nQueries).map((c) => c.question);
          if (questions.length === 0) throw new CliError('the dataset has no training questions to sweep with (use --query-source table)');
          const embedder = await rt.plane.embedder(pointer.embedder);
          const vecs = await embedder.embed(questions);
          queries = new Float32Array(vecs.length * embedder.dims);
          vecs.forEach((v, i) => queries.set(v, i * embedder.dims));
        }
        const sweep = (() => {
          try {
            return runNprobeSweep(flat, ivf, queries, { nprobes, k, minOverlap, maxP95Ms });
          } catch (err) {
            throw new CliError((err as Error).message);
          }
        })();
        if (opts.json) io.out(JSON.stringify({ table: opts.table, index: path.dirname(pointer.ivf), currentNprobe: pointer.nprobe, querySource: opts.querySource, ...sweep }, null, 2));
        else {
          io.out(`${opts.table}: ${sweep.ntotal} vectors × ${sweep.dim}, IVF${sweep.nlist} (serving nprobe ${pointer.nprobe}), ${sweep.queries} queries (${opts.querySource}), flat p95 ${formatNumber(sweep.flat.p95Ms)} ms`);
          io.out(renderTable(
            ['NPROBE', `OVERLAP@${k}`, 'P50 MS', 'P95 MS', 'SPEED-UP P95', 'MEETS TARGET'],
            sweep.points.map((p) => [String(p.nprobe), p.overlapAtK.toFixed(3), formatNumber(p.p50Ms), formatNumber(p.p95Ms), `${p.speedupP95.toFixed(1)}x`, p.meetsTargets ? 'yes' : 'no']),
          ));
          if (sweep.skipped.length) io.out(`skipped (above nlist ${sweep.nlist}): ${sweep.skipped.join(', ')}`);
          io.out(sweep.reason);
        }
        return EXIT.OK;
      } finally {
        await rt.close();
      }
    }));
}
