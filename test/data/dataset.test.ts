// The evaluation dataset as provisioned by scripts/provision/data.sh from the real Debian packages
// (perl-doc, python3.11-doc): its invariants, its determinism, and the loader's refusal of bad files.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFaqDataset, findSourceDirs, packageVersions, writeDataset } from '../../src/data/build-faq-dataset';
import {
  CASES_FILE, CORPUS_FILE, Dataset, DatasetError, loadDataset, MANIFEST_FILE, sha256Hex, splitFor, subsetForTests,
} from '../../src/data/dataset';
import { dataDir } from '../../src/platform/paths';

let dataset: Dataset;
const tmpDirs: string[] = [];

function tempCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-dataset-'));
  tmpDirs.push(dir);
  for (const f of [CORPUS_FILE, CASES_FILE, MANIFEST_FILE]) fs.copyFileSync(path.join(dataDir, f), path.join(dir, f));
  return dir;
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(dataDir, MANIFEST_FILE))) {
    throw new Error(`no dataset at ${dataDir}: run "npx tsc -p tsconfig.json && bash scripts/provision/data.sh" first`);
  }
  dataset = await loadDataset();
});

afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

test('holds enough real FAQ cases from both packages, and a few thousand documents', () => {
  const perl = dataset.cases.filter((c) => c.source.startsWith('perl-doc:'));
  const python = dataset.cases.filter((c) => c.source.startsWith('python3.11-doc:'));
  expect(perl.length).toBeGreaterThanOrEqual(250);
  expect(python.length).toBeGreaterThanOrEqual(120);
  expect(dataset.docs.length).toBeGreaterThanOrEqual(3000);
  expect(dataset.docs.length).toBeLessThanOrEqual(6000);
  expect(dataset.manifest.counts.cases).toBe(dataset.cases.length);
  expect(dataset.manifest.created).toMatch(/FAQ-derived from Debian perl-doc and python3\.11-doc/);
  expect(Object.keys(dataset.manifest.source_packages).sort()).toEqual(['perl-doc', 'python3.11-doc']);
});

test('no question appears verbatim in its gold document (headings removed from indexed text)', () => {
  const docs = new Map(dataset.docs.map((d) => [d.doc_id, d]));
  const leaks = dataset.cases.filter((c) => {
    const gold = docs.get(c.gold_doc_id)!;
    return gold.text.includes(c.question) || gold.title.includes(c.question);
  });
  expect(leaks.map((c) => c.case_id)).toEqual([]);
});

test('every gold document exists and the answer offsets slice it to the gold answer', () => {
  const docs = new Map(dataset.docs.map((d) => [d.doc_id, d]));
  for (const c of dataset.cases) {
    const gold = docs.get(c.gold_doc_id);
    expect(gold).toBeDefined();
    expect(gold!.text.slice(c.answer_start, c.answer_end)).toBe(c.gold_answer);
    expect(c.gold_answer.length).toBeGreaterThanOrEqual(20);
  }
  expect(new Set(dataset.docs.map((d) => d.doc_id)).size).toBe(dataset.docs.length);
});

test('train and dev are disjoint, roughly 70/30, and follow the hash rule', async () => {
  const train = await loadDataset(dataDir, { split: 'train' });
  const dev = await loadDataset(dataDir, { split: 'dev' });
  const trainIds = new Set(train.cases.map((c) => c.case_id));
  expect(dev.cases.filter((c) => trainIds.has(c.case_id))).toEqual([]);
  expect(train.cases.length + dev.cases.length).toBe(dataset.cases.length);
  const fraction = train.cases.length / dataset.cases.length;
  expect(fraction).toBeGreaterThan(0.6);
  expect(fraction).toBeLessThan(0.8);
  for (const c of dataset.cases) expect(c.split).toBe(splitFor(c.case_id));
});

test('a rebuild from the installed packages gives byte-identical files (deterministic, stable splits)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-rebuild-'));
  tmpDirs.push(out);
  const manifest = writeDataset(out, buildFaqDataset(findSourceDirs(), packageVersions()));
  expect(manifest.files).toEqual(dataset.manifest.files);
  expect(fs.readFileSync(path.join(out, MANIFEST_FILE), 'utf8')).toBe(fs.readFileSync(path.join(dataDir, MANIFEST_FILE), 'utf8'));
}, 120_000);

test('checksum verification rejects a modified file', async () => {
  const dir = tempCopy();
  const corpus = path.join(dir, CORPUS_FILE);
  const text = fs.readFileSync(corpus, 'utf8');
  const at = text.indexOf('"text":"') + 8;
  fs.writeFileSync(corpus, text.slice(0, at) + (text[at] === 'X' ? 'Y' : 'X') + text.slice(at + 1));
  await expect(loadDataset(dir)).rejects.toThrow(DatasetError);
  await expect(loadDataset(dir)).rejects.toThrow(/corpus\.jsonl: checksum mismatch/);
});

test('a line that breaks the schema is reported with its file and line number', async () => {
  const dir = tempCopy();
  const casesPath = path.join(dir, CASES_FILE);
  const lines = fs.readFileSync(casesPath, 'utf8').split('\n');
  const third = JSON.parse(lines[2]);
  lines[2] = JSON.stringify({ ...third, split: 'test' });
  const content = lines.join('\n');
  fs.writeFileSync(casesPath, content);
  // Re-sign the file so the checksum passes and the line validation is what fails.
  const manifestPath = path.join(dir, MANIFEST_FILE);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  manifest.files[CASES_FILE].sha256 = sha256Hex(Buffer.from(content, 'utf8'));
  fs.writeFileSync(manifestPath, JSON.stringify(manifest));
  await expect(loadDataset(dir)).rejects.toThrow(/^cases\.jsonl line 3: split: /);
});

test('a missing dataset names the command that builds it', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-empty-'));
  tmpDirs.push(empty);
  await expect(loadDataset(empty)).rejects.toThrow(/scripts\/provision\/data\.sh/);
});

test('limits keep the gold documents of the kept cases', async () => {
  const small = await loadDataset(dataDir, { split: 'dev', limitCases: 10, limitDocs: 50 });
  expect(small.cases).toHaveLength(10);
  expect(small.docs).toHaveLength(50);
  const ids = new Set(small.docs.map((d) => d.doc_id));
  for (const c of small.cases) expect(ids.has(c.gold_doc_id)).toBe(true);
  await expect(loadDataset(dataDir, { limitCases: 10, limitDocs: 3 })).rejects.toThrow(/limitDocs 3/);
});

test('subsetForTests gives the same n cases, their gold docs and proportional distractors every time', async () => {
  const a = await subsetForTests(30);
  const b = await subsetForTests(30);
  expect(a.cases.map((c) => c.case_id)).toEqual(b.cases.map((c) => c.case_id));
  expect(a.docs.map((d) => d.doc_id)).toEqual(b.docs.map((d) => d.doc_id));
  expect(a.cases).toHaveLength(30);
  const ids = new Set(a.docs.map((d) => d.doc_id));
  for (const c of a.cases) expect(ids.has(c.gold_doc_id)).toBe(true);
  const goldCount = new Set(a.cases.map((c) => c.gold_doc_id)).size;
  const fullRatio = (dataset.docs.length - new Set(dataset.cases.map((c) => c.gold_doc_id)).size) / dataset.cases.length;
  expect(a.docs.length - goldCount).toBe(Math.round(30 * fullRatio));
  // Both FAQs and both splits are represented.
  expect(new Set(a.cases.map((c) => c.source.split(':')[0])).size).toBe(2);
  expect(new Set(a.cases.map((c) => c.split)).size).toBe(2);
});
