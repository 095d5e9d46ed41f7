// `bakeoff dataset add|list|show|verify`: register a team's corpus (BEIR directory, JSONL file,
// directory tree, PostgreSQL query) and its labelled cases after one validation pass; every problem
// is one line naming file:line and field, and nothing is registered when there is one. See docs/data.md.
import type { Command } from 'commander';
import { addDataset, listDatasets, readManifest, RegistryError, verifyDataset } from '../../data/registry';
import { BUNDLED_DATASET, type DatasetSpec, type RegistryManifest } from '../../data/registry-manifest';
import { problemLine, type SourceProgress } from '../../data/sources/types';
import { redactDsn } from '../../data/sources/pg-source';
import { exitWith, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { homeOf } from '../home';
import { renderTable } from '../render';

interface AddFlags {
  beir?: string;
  jsonl?: string;
  dir?: string;
  pg?: string;
  sql?: string;
  cases?: string;
}

function specFrom(o: AddFlags): DatasetSpec {
  const kinds = (['beir', 'jsonl', 'dir', 'pg'] as const).filter((k) => o[k] !== undefined);
  if (kinds.length !== 1) throw new CliError(`give exactly one of --beir DIR, --jsonl FILE, --dir PATH, --pg DSN (got ${kinds.length ? kinds.map((k) => `--${k}`).join(', ') : 'none'})`);
  if (o.sql !== undefined && kinds[0] !== 'pg') throw new CliError('--sql goes with --pg');
  if (o.cases !== undefined && kinds[0] === 'beir') throw new CliError('--cases: a BEIR directory has its own cases (queries.jsonl, qrels/<split>.tsv)');
  const cases = o.cases !== undefined ? { cases: o.cases } : {};
  switch (kinds[0]) {
    case 'beir':
      return { kind: 'beir', dir: o.beir! };
    case 'jsonl':
      return { kind: 'jsonl', file: o.jsonl!, ...cases };
    case 'dir':
      return { kind: 'dir', dir: o.dir!, ...cases };
    case 'pg':
      if (!o.sql) throw new CliError('--pg needs --sql QUERY (returning columns id, text and optionally title)');
      return { kind: 'pg', dsn: o.pg!, sql: o.sql, ...cases };
  }
}

/** Progress on stderr at most every 2 s (a large corpus takes minutes). */
function progressPrinter(err: (s: string) => void): (p: SourceProgress) => void {
  let last = Date.now();
  return (p) => {
    if (Date.now() - last < 2000) return;
    last = Date.now();
    const pct = p.totalBytes ? ` (${((100 * p.bytes) / p.totalBytes).toFixed(0)} % of ${(p.totalBytes / 1e6).toFixed(1)} MB)` : '';
    err(`read ${p.docs} documents${pct}`);
  };
}

function where(spec: DatasetSpec): string {
  switch (spec.kind) {
    case 'beir':
      return spec.dir;
    case 'jsonl':
      return spec.file;
    case 'dir':
      return spec.dir;
    case 'pg':
      return `${redactDsn(spec.dsn)} ${JSON.stringify(spec.sql)}`;
  }
}

function describe(m: RegistryManifest): string[] {
  const lines = [
    `dataset ${m.name} (${m.spec.kind}): ${where(m.spec)}`,
    `corpus: ${m.corpus.docs} documents, ${(m.corpus.bytes / 1e6).toFixed(2)} MB of text, snapshot sha256 ${m.corpus.snapshot_sha256}`,
  ];
  if ('cases' in m.spec && m.spec.cases) lines.push(`cases file: ${m.spec.cases}`);
  if (m.cases) {
    lines.push(`cases: ${m.cases.total} (${Object.entries(m.cases.splits).map(([s, n]) => `${s} ${n}`).join(', ')}); default case set ${m.name}:${m.cases.default_split}`);
    lines.push(`metrics: ${m.cases.metrics.join(', ')}${m.cases.graded ? ' (nDCG with graded gains)' : ''}${m.cases.multi_relevant ? '; several relevant documents per case' : ''}${m.cases.metrics.includes('f1') ? '' : `; no reader F1: ${m.cases.cases_with_answers} of ${m.cases.total} cases have a gold answer`}`);
  } else lines.push('cases: none (ingest only; register with --cases FILE to evaluate)');
  for (const f of m.files) lines.push(`file ${f.path}: ${f.bytes} bytes, sha256 ${f.sha256}`);
  return lines;
}

export function registerDatasetCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const dataset = program.command('dataset').description('register your own corpus and labelled cases (docs/data.md)');

  dataset
    .command('add <name>')
    .description('validate a dataset and register it (nothing is registered when any problem is found)')
    .option('--beir <dir>', 'BEIR-layout directory: corpus.jsonl, queries.jsonl, qrels/<split>.tsv')
    .option('--jsonl <file>', 'JSONL file of documents: {"id", "text", "title"?, "metadata"?}')
    .option('--dir <path>', 'directory tree of .md .txt .rst .html files (id = relative path)')
    .option('--pg <dsn>', 'PostgreSQL connection string (password from PGPASSWORD or ~/.pgpass)')
    .option('--sql <query>', 'with --pg: query returning columns id, text and optionally title')
    .option('--cases <file>', 'labelled cases (JSONL: question, gold_doc_id or relevant, optional gold answer span, split)')
    .action(exitWith(ctx, async (name: string, opts: AddFlags) => {
      const spec = specFrom(opts);
      if (spec.kind === 'pg' && spec.dsn !== redactDsn(spec.dsn)) io.err('note: the password in --pg is used now but not stored; verify and ingest read it from PGPASSWORD or ~/.pgpass');
      try {
        const { manifest, dir } = await addDataset(homeOf(ctx.env), name, spec, progressPrinter(io.err));
        for (const l of describe(manifest)) io.out(l);
        io.out(`registered: ${dir}`);
        return EXIT.OK;
      } catch (e) {
        if (e instanceof RegistryError && e.problems.length > 0) {
          for (const p of e.problems) io.err(problemLine(p));
          throw new CliError(`dataset ${name}: ${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}; nothing registered`);
        }
        if (e instanceof RegistryError) throw new CliError(e.message);
        throw e;
      }
    }));

  dataset
    .command('list')
    .description('the bundled dataset and every registered one')
    .option('--json', 'print the manifests as JSON')
    .action(exitWith(ctx, (opts: { json?: boolean }) => {
      const all = registryCall(() => listDatasets(homeOf(ctx.env)));
      if (opts.json) {
        io.out(JSON.stringify(all, null, 2));
        return EXIT.OK;
      }
      const rows = [[BUNDLED_DATASET, 'bundled', '-', 'train, dev', 'FAQ of perl-doc and python3.11-doc (default)']];
      for (const m of all) rows.push([m.name, m.spec.kind, String(m.corpus.docs), m.cases ? Object.keys(m.cases.splits).join(', ') : '-', where(m.spec)]);
      io.out(renderTable(['NAME', 'KIND', 'DOCS', 'SPLITS', 'SOURCE'], rows));
      return EXIT.OK;
    }));

  dataset
    .command('show <name>')
    .description('a registered dataset: source, counts, checksums, splits and the metrics its cases support')
    .option('--json', 'print the manifest as JSON')
    .action(exitWith(ctx, (name: string, opts: { json?: boolean }) => {
      const m = registryCall(() => readManifest(homeOf(ctx.env), name));
      if (opts.json) io.out(JSON.stringify(m, null, 2));
      else for (const l of describe(m)) io.out(l);
      return EXIT.OK;
    }));

  dataset
    .command('verify <name>')
    .description('re-read a registered dataset and compare it with its manifest (checksums, corpus snapshot, cases)')
    .action(exitWith(ctx, async (name: string) => {
      const r = await registryCall(() => verifyDataset(homeOf(ctx.env), name, progressPrinter(io.err)));
      if (r.problems.length > 0) {
        for (const p of r.problems) io.err(p);
        throw new CliError(`dataset ${name}: ${r.problems.length} difference${r.problems.length === 1 ? '' : 's'} from the registered manifest`);
      }
      io.out(`dataset ${name}: as registered (${r.manifest.corpus.docs} documents, snapshot sha256 ${r.manifest.corpus.snapshot_sha256})`);
      return EXIT.OK;
    }));
}

function registryCall<T>(fn: () => T): T {
  try {
    const v = fn();
    if (v instanceof Promise) {
      return v.catch((e: unknown) => {
        throw e instanceof RegistryError ? new CliError(e.message) : e;
      }) as T;
    }
    return v;
  } catch (e) {
    if (e instanceof RegistryError) throw new CliError(e.message);
    throw e;
  }
}
