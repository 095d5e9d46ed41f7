// One validation pass over a dataset: the labelled cases, then the corpus streamed once, then the
// cross-checks (every judged document exists, every gold answer is a span of its document). Every
// problem is collected as one line (file:line field: message); nothing is written here.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SPLIT_RULE } from './dataset';
import type { CasesSummary, DatasetSpec, FileChecksum } from './registry-manifest';
import { CorpusFingerprinter } from '../rag/corpus-fingerprint';
import { BeirSource } from './sources/beir-source';
import { caseSetSupport, qrelsFiles, readExtractiveCases, supportedMetricNames, type LabelledCase } from './sources/cases';
import { JsonlSource } from './sources/jsonl-source';
import { PgSource } from './sources/pg-source';
import { TreeSource } from './sources/tree-source';
import type { CorpusSource, SourceProblem, SourceProgress } from './sources/types';

export function sourceFor(spec: DatasetSpec): CorpusSource {
  switch (spec.kind) {
    case 'beir':
      return new BeirSource(spec.dir);
    case 'jsonl':
      return new JsonlSource(spec.file);
    case 'dir':
      return new TreeSource(spec.dir);
    case 'pg':
      return new PgSource(spec.dsn, spec.sql);
  }
}

export interface Validated {
  problems: SourceProblem[];
  docs: number;
  bytes: number;
  snapshotSha256: string;
  files: FileChecksum[];
  cases: LabelledCase[] | null;
  casesSummary: Omit<CasesSummary, 'sha256'> | null;
}

/** The input files whose checksums the manifest keeps (a tree and a table are covered by the snapshot). */
function inputFiles(spec: DatasetSpec): string[] {
  const files: string[] = [];
  if (spec.kind === 'beir') files.push(path.join(spec.dir, 'corpus.jsonl'), path.join(spec.dir, 'queries.jsonl'), ...qrelsFiles(spec.dir).values());
  if (spec.kind === 'jsonl') files.push(spec.file);
  if (spec.kind !== 'beir' && spec.cases) files.push(spec.cases);
  return files;
}

async function checksum(file: string): Promise<FileChecksum | null> {
  if (!fs.existsSync(file)) return null;
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { path: path.resolve(file), sha256: h.digest('hex'), bytes };
}

export function defaultSplit(splits: Record<string, number>): string {
  for (const s of ['dev', 'test', 'train']) if (splits[s]) return s;
  return Object.keys(splits).sort()[0] ?? 'dev';
}

export async function validateDataset(spec: DatasetSpec, onProgress?: (p: SourceProgress) => void): Promise<Validated> {
  const problems: SourceProblem[] = [];
  const onProblem = (p: SourceProblem) => problems.push(p);
  const source = sourceFor(spec);

  let cases: LabelledCase[] | null = null;
  if (source instanceof BeirSource) cases = await source.cases({ onProblem });
  else if (spec.kind !== 'beir' && spec.cases) {
    cases = await readExtractiveCases(path.resolve(spec.cases), { onProblem });
    if (cases.length === 0 && problems.length === 0) problems.push({ at: path.resolve(spec.cases), field: '(file)', message: 'no cases' });
  }

  // Only the texts of documents holding a gold answer are kept, to check the spans.
  const answerDocs = new Set((cases ?? []).flatMap((c) => (c.answer ? [c.answer.doc_id] : [])));
  const answerTexts = new Map<string, string>();
  const ids = new Set<string>();
  const snapshot = new CorpusFingerprinter();
  let bytes = 0;
  for await (const d of source.docs({ onProblem, onProgress })) {
    ids.add(d.id);
    snapshot.add(d.id, d.sha256);
    bytes += Buffer.byteLength(d.text);
    if (answerDocs.has(d.id)) answerTexts.set(d.id, d.text);
  }

  const idField = spec.kind === 'beir' ? 'corpus-id' : 'gold_doc_id';
  for (const c of cases ?? []) {
    for (const docId of Object.keys(c.relevant)) {
      if (!ids.has(docId)) problems.push({ at: c.at, field: spec.kind === 'beir' || c.answer?.doc_id === docId || Object.keys(c.relevant).length === 1 ? idField : `relevant.${docId}`, message: `unknown document ${JSON.stringify(docId)} (not in the corpus)` });
    }
    if (c.answer) {
      const text = answerTexts.get(c.answer.doc_id);
      if (text !== undefined && text.slice(c.answer.start, c.answer.end) !== c.answer.text) {
        problems.push({ at: c.at, field: 'answer_start', message: `answer_start..answer_end (${c.answer.start}..${c.answer.end}) does not slice gold_doc_id ${JSON.stringify(c.answer.doc_id)}'s text to gold_answer` });
      }
    }
  }

  const files: FileChecksum[] = [];
  for (const f of inputFiles(spec)) {
    const sum = await checksum(f);
    if (sum) files.push(sum);
  }

  let casesSummary: Validated['casesSummary'] = null;
  if (cases) {
    const splits: Record<string, number> = {};
    for (const c of cases) splits[c.split] = (splits[c.split] ?? 0) + 1;
    const support = caseSetSupport(cases);
    casesSummary = {
      file: 'cases.jsonl',
      total: cases.length,
      splits,
      default_split: defaultSplit(splits),
      split_rule: spec.kind === 'beir' ? 'split = the qrels file name (qrels/<split>.tsv)' : `the case's split field, else ${SPLIT_RULE}`,
      graded: support.graded,
      multi_relevant: support.multiRelevant,
      cases_with_answers: support.casesWithAnswers,
      metrics: supportedMetricNames(support),
    };
  }
  return { problems, docs: ids.size, bytes, snapshotSha256: snapshot.digest().snapshot, files, cases, casesSummary };
}
