// The evaluation dataset's contract: corpus.jsonl (documents), cases.jsonl (labelled questions with an
// extractive gold span), manifest.json (checksums, counts, provenance). Loading validates every line
// and verifies every checksum, so an evaluation never runs on data it cannot vouch for.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { dataDir } from '../platform/paths';

export const CORPUS_FILE = 'corpus.jsonl';
export const CASES_FILE = 'cases.jsonl';
export const MANIFEST_FILE = 'manifest.json';

/** Where a text came from: "<debian package>:<path inside its doc tree>". */
const SourceRef = z.string().regex(/^(perl-doc|python3\.11-doc):\S+$/, 'expected "<package>:<path>"');

export const CorpusDoc = z.strictObject({
  doc_id: z.string().regex(/^[\w.:/#-]+$/, 'doc_id may hold only letters, digits and ._:/#-'),
  title: z.string().min(1),
  source: SourceRef,
  text: z.string().min(1),
});
export type CorpusDoc = z.infer<typeof CorpusDoc>;

export const Split = z.enum(['train', 'dev']);
export type Split = z.infer<typeof Split>;

export const EvalCase = z.strictObject({
  case_id: z.string().regex(/^[\w.:-]+$/),
  question: z.string().min(1),
  gold_doc_id: z.string().min(1),
  /** Extractive: exactly gold_doc.text.slice(answer_start, answer_end) (JavaScript string indices). */
  gold_answer: z.string().min(1),
  answer_start: z.number().int().nonnegative(),
  answer_end: z.number().int().positive(),
  split: Split,
  source: SourceRef,
}).refine((c) => c.answer_end > c.answer_start, { message: 'answer_end must be greater than answer_start', path: ['answer_end'] });
export type EvalCase = z.infer<typeof EvalCase>;

const FileEntry = z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative(), lines: z.number().int().nonnegative() });

export const DatasetManifest = z.strictObject({
  created: z.string(),
  builder_version: z.string(),
  source_packages: z.record(z.string(), z.string()),
  /** sha256 over the sorted list of input files and their contents. */
  inputs_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  split_rule: z.string(),
  files: z.strictObject({ 'corpus.jsonl': FileEntry, 'cases.jsonl': FileEntry }),
  counts: z.strictObject({
    docs: z.number().int(),
    faq_docs: z.number().int(),
    distractor_docs: z.number().int(),
    cases: z.number().int(),
    train: z.number().int(),
    dev: z.number().int(),
    cases_by_package: z.record(z.string(), z.number().int()),
    faq_questions_found: z.record(z.string(), z.number().int()),
    cases_dropped: z.record(z.string(), z.number().int()),
    /** Cases whose question text also appears verbatim in some other document (not an error). */
    questions_quoted_elsewhere: z.number().int(),
  }),
});
export type DatasetManifest = z.infer<typeof DatasetManifest>;

/** A dataset problem a user can fix (missing build, corrupted file): reported as a message, not a stack. */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

export const TRAIN_FRACTION = 0.7;
export const SPLIT_RULE = `train iff uint32(sha256(case_id)[0..4]) / 2^32 < ${TRAIN_FRACTION}`;

/** The fixed train/dev assignment: a pure function of the case id, so it never drifts between builds. */
export function splitFor(caseId: string): Split {
  const h = createHash('sha256').update(caseId).digest();
  return h.readUInt32BE(0) / 2 ** 32 < TRAIN_FRACTION ? 'train' : 'dev';
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface Dataset {
  dir: string;
  manifest: DatasetManifest;
  docs: CorpusDoc[];
  cases: EvalCase[];
}

export interface LoadOptions {
  /** Only cases of this split (documents are not filtered: the corpus is shared). */
  split?: Split;
  /** Keep the first n cases (file order) after the split filter. */
  limitCases?: number;
  /**
   * Cap on the number of documents: the gold documents of the kept cases always stay, then other
   * documents in file order fill up to the cap.
   */
  limitDocs?: number;
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(line)'}: ${i.message}`).join('; ');
}

function parseJsonl<T>(file: string, content: string, schema: z.ZodType<T>): T[] {
  const rows: T[] = [];
  const lines = content.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, k) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new DatasetError(`${file} line ${k + 1}: not valid JSON (${(e as Error).message})`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new DatasetError(`${file} line ${k + 1}: ${formatIssues(parsed.error)}`);
    rows.push(parsed.data);
  });
  return rows;
}

async function readManifest(dir: string): Promise<DatasetManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch {
    throw new DatasetError(`no evaluation dataset at ${dir} (missing ${MANIFEST_FILE}); build it with: bash scripts/provision/data.sh`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new DatasetError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = DatasetManifest.safeParse(json);
  if (!parsed.success) throw new DatasetError(`${file}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** Reads a data file and checks it against the manifest's checksum before anything trusts it. */
async function readVerified(dir: string, name: keyof DatasetManifest['files'], manifest: DatasetManifest): Promise<string> {
  const file = path.join(dir, name);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch {
    throw new DatasetError(`${file} is missing; rebuild with: bash scripts/provision/data.sh`);
  }
  const expected = manifest.files[name].sha256;
  const actual = sha256Hex(bytes);
  if (actual !== expected) {
    throw new DatasetError(`${file}: checksum mismatch (manifest sha256 ${expected}, file ${actual}); the file was changed after the build — rebuild with: bash scripts/provision/data.sh`);
  }
  return bytes.toString('utf8');
}

/** Cross-file invariants: unique ids, gold documents present, spans that slice to the gold answer. */
function checkConsistency(manifest: DatasetManifest, docs: CorpusDoc[], cases: EvalCase[]): void {
  const byId = new Map<string, CorpusDoc>();
  for (const d of docs) {
    if (byId.has(d.doc_id)) throw new DatasetError(`${CORPUS_FILE}: duplicate doc_id ${d.doc_id}`);
    byId.set(d.doc_id, d);
  }
  const caseIds = new Set<string>();
  for (const c of cases) {
    if (caseIds.has(c.case_id)) throw new DatasetError(`${CASES_FILE}: duplicate case_id ${c.case_id}`);
    caseIds.add(c.case_id);
    const gold = byId.get(c.gold_doc_id);
    if (!gold) throw new DatasetError(`${CASES_FILE}: case ${c.case_id} names gold_doc_id ${c.gold_doc_id}, which is not in ${CORPUS_FILE}`);
    if (gold.text.slice(c.answer_start, c.answer_end) !== c.gold_answer) {
      throw new DatasetError(`${CASES_FILE}: case ${c.case_id}: answer_start..answer_end does not slice the gold document to gold_answer`);
    }
    if (c.split !== splitFor(c.case_id)) throw new DatasetError(`${CASES_FILE}: case ${c.case_id} is in split ${c.split}, but the split rule says ${splitFor(c.case_id)}`);
  }
  if (docs.length !== manifest.counts.docs || cases.length !== manifest.counts.cases) {
    throw new DatasetError(`counts differ from ${MANIFEST_FILE}: ${docs.length} docs / ${cases.length} cases, manifest says ${manifest.counts.docs} / ${manifest.counts.cases}`);
  }
}

/** Loads, validates and checksum-verifies the dataset, then applies the split and limits. */
export async function loadDataset(dir: string = dataDir, options: LoadOptions = {}): Promise<Dataset> {
  const manifest = await readManifest(dir);
  const [corpusText, casesText] = await Promise.all([
    readVerified(dir, CORPUS_FILE, manifest),
    readVerified(dir, CASES_FILE, manifest),
  ]);
  const docs = parseJsonl(CORPUS_FILE, corpusText, CorpusDoc);
  const allCases = parseJsonl(CASES_FILE, casesText, EvalCase);
  checkConsistency(manifest, docs, allCases);

  let cases = options.split ? allCases.filter((c) => c.split === options.split) : allCases;
  if (options.limitCases !== undefined) cases = cases.slice(0, options.limitCases);
  return { dir, manifest, docs: capDocs(docs, cases, options.limitDocs), cases };
}

function capDocs(docs: CorpusDoc[], cases: EvalCase[], limit: number | undefined): CorpusDoc[] {
  if (limit === undefined || limit >= docs.length) return docs;
  const gold = new Set(cases.map((c) => c.gold_doc_id));
  if (gold.size > limit) {
    throw new DatasetError(`limitDocs ${limit} is smaller than the ${gold.size} gold documents the selected cases need`);
  }
  let room = limit - gold.size;
  // Keep file order so the corpus slice is the same on every run.
  return docs.filter((d) => {
    if (gold.has(d.doc_id)) return true;
    if (room === 0) return false;
    room--;
    return true;
  });
}

export interface SubsetOptions {
  dir?: string;
  split?: Split;
}

/**
 * A small, deterministic slice for fast tests: n cases (chosen by sha256 of case_id, which mixes both
 * FAQs and both splits), their gold documents, and distractors in the full dataset's proportion of
 * non-gold documents per case, also chosen by hash. The manifest is the full dataset's.
 */
export async function subsetForTests(n: number, options: SubsetOptions = {}): Promise<Dataset> {
  if (!Number.isInteger(n) || n < 1) throw new DatasetError(`subsetForTests: n must be a positive integer, got ${n}`);
  const full = await loadDataset(options.dir ?? dataDir, { split: options.split });
  // Salted: sorting by the bare sha256(case_id) would pick only train cases (the split uses that hash).
  const byHash = <T>(items: T[], key: (t: T) => string): T[] =>
    items.map((t) => ({ t, h: sha256Hex(`subset:${key(t)}`) })).sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0)).map((x) => x.t);

  const cases = byHash(full.cases, (c) => c.case_id).slice(0, n);
  const allGold = new Set(full.cases.map((c) => c.gold_doc_id));
  const gold = new Set(cases.map((c) => c.gold_doc_id));
  // Same distractors-per-case ratio as the full dataset; any non-gold document may serve as one.
  const others = full.docs.filter((d) => !gold.has(d.doc_id));
  const distractorCount = Math.round((cases.length * (full.docs.length - allGold.size)) / Math.max(1, full.cases.length));
  const distractors = new Set(byHash(others, (d) => d.doc_id).slice(0, distractorCount).map((d) => d.doc_id));
  const docs = full.docs.filter((d) => gold.has(d.doc_id) || distractors.has(d.doc_id));
  return { dir: full.dir, manifest: full.manifest, docs, cases };
}
