// The dataset registry under the bakeoff home: <home>/datasets/<name>/{manifest.json, cases.jsonl}.
// `add` validates first and registers nothing when any problem was found; the dataset directory
// appears by one rename, so a crash leaves either no dataset or a whole one. `faq` is the bundled
// dataset (src/data/dataset.ts) and cannot be registered over.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { sha256Hex } from './dataset';
import { BUNDLED_DATASET, DATASET_NAME, RegistryManifest, type DatasetSpec } from './registry-manifest';
import { validateDataset, type Validated } from './registry-validate';
import type { LabelledCase } from './sources/cases';
import { redactDsn } from './sources/pg-source';
import { problemLine, type SourceProblem, type SourceProgress } from './sources/types';

/** A registry mistake the user can fix; the message is one line (or one line per problem). */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly problems: SourceProblem[] = [],
  ) {
    super(message);
  }
}

export function registryDir(home: string): string {
  return path.join(home, 'datasets');
}

export function checkDatasetName(name: string): void {
  if (name === BUNDLED_DATASET) throw new RegistryError(`dataset name ${BUNDLED_DATASET} is the bundled FAQ dataset; choose another name`);
  if (!DATASET_NAME.test(name)) throw new RegistryError(`dataset name ${JSON.stringify(name)}: must match ${DATASET_NAME} (lower-case letters, digits, _ and -, starting with a letter)`);
}

export function readManifest(home: string, name: string): RegistryManifest {
  const file = path.join(registryDir(home), name, 'manifest.json');
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw new RegistryError(`no dataset ${JSON.stringify(name)} is registered under ${registryDir(home)} (see bakeoff dataset list)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new RegistryError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = RegistryManifest.safeParse(json);
  if (!parsed.success) throw new RegistryError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export function listDatasets(home: string): RegistryManifest[] {
  const dir = registryDir(home);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => DATASET_NAME.test(n) && fs.existsSync(path.join(dir, n, 'manifest.json')))
    .sort()
    .map((n) => readManifest(home, n));
}

/** The spec with every path absolute (the manifest must not depend on the cwd of `add`). */
function absolute(spec: DatasetSpec): DatasetSpec {
  switch (spec.kind) {
    case 'beir':
      return { kind: 'beir', dir: path.resolve(spec.dir) };
    case 'jsonl':
      return { kind: 'jsonl', file: path.resolve(spec.file), ...(spec.cases ? { cases: path.resolve(spec.cases) } : {}) };
    case 'dir':
      return { kind: 'dir', dir: path.resolve(spec.dir), ...(spec.cases ? { cases: path.resolve(spec.cases) } : {}) };
    case 'pg':
      return { ...spec, ...(spec.cases ? { cases: path.resolve(spec.cases) } : {}) };
  }
}

function casesJsonl(cases: readonly LabelledCase[]): string {
  return cases.map((c) => JSON.stringify(c)).join('\n') + (cases.length ? '\n' : '');
}

function problemsError(v: Validated): RegistryError {
  const shown = v.problems.slice(0, 200).map(problemLine);
  if (v.problems.length > shown.length) shown.push(`… and ${v.problems.length - shown.length} more problems`);
  return new RegistryError(shown.join('\n'), v.problems);
}

export interface AddResult {
  manifest: RegistryManifest;
  dir: string;
}

/** Validates the dataset and registers it; throws RegistryError (nothing written) on any problem. */
export async function addDataset(home: string, name: string, rawSpec: DatasetSpec, onProgress?: (p: SourceProgress) => void): Promise<AddResult> {
  checkDatasetName(name);
  const dir = path.join(registryDir(home), name);
  if (fs.existsSync(dir)) throw new RegistryError(`dataset ${name} is already registered (${dir}); verify it with: bakeoff dataset verify ${name}`);
  const spec = absolute(rawSpec);
  const v = await validateDataset(spec, onProgress);
  if (v.problems.length > 0) throw problemsError(v);
  const casesText = v.cases ? casesJsonl(v.cases) : null;
  const manifest: RegistryManifest = {
    format: 'bakeoff-dataset/1',
    name,
    created: new Date().toISOString(),
    // The password was needed to read the table now; it is never written down.
    spec: spec.kind === 'pg' ? { ...spec, dsn: redactDsn(spec.dsn) } : spec,
    files: v.files,
    corpus: { docs: v.docs, snapshot_sha256: v.snapshotSha256, bytes: v.bytes },
    cases: v.casesSummary && casesText !== null ? { ...v.casesSummary, sha256: sha256Hex(casesText) } : null,
  };
  RegistryManifest.parse(manifest);
  fs.mkdirSync(registryDir(home), { recursive: true });
  const tmp = path.join(registryDir(home), `.${name}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    if (casesText !== null) fs.writeFileSync(path.join(tmp, 'cases.jsonl'), casesText);
    fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { manifest, dir };
}

export interface VerifyResult {
  manifest: RegistryManifest;
  /** One line per difference or input problem; empty when the dataset is as registered. */
  problems: string[];
}

/** Re-reads the dataset and compares it with its manifest (checksums, snapshot, cases). */
export async function verifyDataset(home: string, name: string, onProgress?: (p: SourceProgress) => void): Promise<VerifyResult> {
  const manifest = readManifest(home, name);
  const v = await validateDataset(manifest.spec, onProgress);
  const problems = v.problems.map(problemLine);
  const now = new Map(v.files.map((f) => [f.path, f]));
  for (const f of manifest.files) {
    const cur = now.get(f.path);
    if (!cur) problems.push(`${f.path}: (file): missing (registered with sha256 ${f.sha256})`);
    else if (cur.sha256 !== f.sha256) problems.push(`${f.path}: (file): sha256 ${cur.sha256} differs from the registered ${f.sha256}`);
  }
  if (v.snapshotSha256 !== manifest.corpus.snapshot_sha256) {
    problems.push(`${manifest.spec.kind === 'pg' ? 'query' : 'corpus'}: snapshot: sha256 ${v.snapshotSha256} (${v.docs} documents) differs from the registered ${manifest.corpus.snapshot_sha256} (${manifest.corpus.docs} documents)`);
  }
  if (manifest.cases) {
    const file = path.join(registryDir(home), name, 'cases.jsonl');
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (text === null || sha256Hex(text) !== manifest.cases.sha256) problems.push(`${file}: (file): changed or missing since registration`);
    else if (v.cases && sha256Hex(casesJsonl(v.cases.map((c) => ({ ...c })))) !== manifest.cases.sha256) problems.push(`${file}: (file): the labelled cases in the inputs changed since registration`);
  }
  return { manifest, problems };
}

const StoredCase = z.object({
  case_id: z.string(),
  question: z.string(),
  split: z.string(),
  relevant: z.record(z.string(), z.number()),
  answer: z.object({ doc_id: z.string(), text: z.string(), start: z.number(), end: z.number() }).optional(),
  at: z.string(),
});

/** The registered (already validated, checksum-verified) labelled cases of a dataset. */
export function readRegisteredCases(home: string, name: string): LabelledCase[] {
  const manifest = readManifest(home, name);
  if (!manifest.cases) throw new RegistryError(`dataset ${name} has no labelled cases (register it with --cases FILE, or as a BEIR directory)`);
  const file = path.join(registryDir(home), name, 'cases.jsonl');
  const text = fs.readFileSync(file, 'utf8');
  if (sha256Hex(text) !== manifest.cases.sha256) throw new RegistryError(`${file}: checksum differs from the manifest (run bakeoff dataset verify ${name})`);
  return text.split('\n').filter((l) => l.length > 0).map((l) => StoredCase.parse(JSON.parse(l)));
}
