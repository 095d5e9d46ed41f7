// Builds the evaluation dataset from the FAQs in Debian's perl-doc and python3.11-doc: every FAQ
// answer becomes a corpus document (its question heading removed, so retrieval cannot match the
// heading), every question becomes a labelled case with an extractive gold span, and sections of the
// rest of those manuals become distractors. Deterministic: the same packages give the same bytes.
//
// CLI: node dist/data/build-faq-dataset.js [--out DIR] [--check] [--perl-pod-dir DIR] [--python-sources-dir DIR]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pickAnswerSpan } from './answer-span';
import {
  CASES_FILE, CORPUS_FILE, CorpusDoc, DatasetError, DatasetManifest, EvalCase, loadDataset, MANIFEST_FILE,
  sha256Hex, SPLIT_RULE, splitFor,
} from './dataset';
import { DocSection, Paragraph, PARAGRAPH_SEPARATOR, sectionText } from './doc-section';
import { parsePod, podTitle } from './pod-to-text';
import { parseRst } from './rst-to-text';
import { dataDir, repoRoot } from '../platform/paths';

/** Bump when the output format changes; data.sh rebuilds on a mismatch. */
export const BUILDER_FORMAT = '1';

/**
 * The format plus a hash of the builder's own sources (src/data/*.ts), so any change to the
 * conversion code invalidates a cached dataset without anyone remembering to bump a number.
 */
export function builderVersion(): string {
  const srcDir = path.join(repoRoot, 'src', 'data');
  if (!fs.existsSync(srcDir)) return BUILDER_FORMAT;
  const files = listFiles(srcDir, '.ts');
  const digest = sha256Hex(files.map((f) => `${f} ${sha256Hex(fs.readFileSync(path.join(srcDir, f)))}`).join('\n'));
  return `${BUILDER_FORMAT}+src.${digest.slice(0, 12)}`;
}

export const PERL_PACKAGE = 'perl-doc';
export const PYTHON_PACKAGE = 'python3.11-doc';

/** Distractors per package: with ~480 FAQ answers this keeps the corpus near 4.5k documents. */
export const DISTRACTORS_PER_PACKAGE = 2000;
/** Sections shorter than this are headings with a line of text, not documents. */
const MIN_DISTRACTOR_CHARS = 200;
/** Longer sections are split at paragraph boundaries into parts of at most about this size. */
const MAX_DOC_CHARS = 6000;
/** A part still this long after splitting is one giant table (perluniprops), not a document. */
const MAX_DISTRACTOR_CHARS = 20000;
/** An FAQ answer shorter than this ("See the next question.") makes no evaluation case. */
const MIN_ANSWER_TEXT_CHARS = 40;

// Core reference material comes first so the distractors are the manuals a user would search.
const PERL_CORE = new Set(['perlfunc', 'perlop', 'perlre', 'perlsyn', 'perlvar', 'perldata', 'perlsub', 'perlretut',
  'perlrequick', 'perlreftut', 'perlref', 'perldsc', 'perllol', 'perlobj', 'perlootut', 'perlmod', 'perlipc',
  'perlrun', 'perlport', 'perlunicode', 'perlunitut', 'perlpacktut', 'perldebug', 'perlstyle', 'perltrap', 'perlsec',
  'perlform', 'perlintro', 'perlcheat', 'perlrecharclass', 'perlrebackslash', 'perlperf', 'perlthrtut', 'perlfork']);
const PERL_EXCLUDED = /^(perlfaq\d*|perltoc|perl\d+delta|perldelta|perlhist|perlartistic|perlgpl)\.pod$/;
const PERL_ITEM_SPLIT = new Set(['perlfunc', 'perlvar', 'perlrun', 'perldiag']);
const PYTHON_CORE = /^(tutorial\/|reference\/|library\/(functions|stdtypes|exceptions|os|os\.path|re|string|sys|datetime|collections|itertools|functools|subprocess|threading|pickle|json|io|pathlib|shutil|glob|time|random|math|socket|unittest|logging|argparse|csv|sqlite3|urllib\.request|email|typing|dataclasses|contextlib|copy|struct|signal|select|tempfile)\.rst\.txt$)/;
const PYTHON_DIRS = ['library', 'reference', 'tutorial', 'howto', 'using', 'extending', 'installing', 'distributing', 'c-api'];

export interface SourceDirs {
  perlPodDir: string;
  pythonSourcesDir: string;
}

export interface BuiltDataset {
  docs: CorpusDoc[];
  cases: EvalCase[];
  manifest: Omit<DatasetManifest, 'files'>;
}

function dpkgQuery(args: string[], pkg: string): string {
  try {
    return execFileSync('dpkg-query', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    throw new DatasetError(`Debian package ${pkg} is not installed (or dpkg-query is missing); install it with: apt-get install ${pkg}`);
  }
}

export function packageVersions(): Record<string, string> {
  return Object.fromEntries([PERL_PACKAGE, PYTHON_PACKAGE].map((p) => [p, dpkgQuery(['-W', '-f=${Version}', p], p).trim()]));
}

/** Locates the POD directory and the Sphinx _sources directory from the packages' file lists. */
export function findSourceDirs(): SourceDirs {
  const perlFaq = dpkgQuery(['-L', PERL_PACKAGE], PERL_PACKAGE).split('\n').find((l) => l.endsWith('/perlfaq1.pod'));
  const pyFaq = dpkgQuery(['-L', PYTHON_PACKAGE], PYTHON_PACKAGE).split('\n').find((l) => l.endsWith('/_sources/faq/programming.rst.txt'));
  if (!perlFaq) throw new DatasetError(`${PERL_PACKAGE} is installed but ships no perlfaq1.pod`);
  if (!pyFaq) throw new DatasetError(`${PYTHON_PACKAGE} is installed but ships no _sources/faq/programming.rst.txt`);
  return { perlPodDir: path.dirname(perlFaq), pythonSourcesDir: path.dirname(path.dirname(pyFaq)) };
}

/** Debian ships these as UTF-8; a stray Latin-1 file is read as Latin-1 rather than garbled. */
function readText(file: string): { text: string; sha256: string } {
  const bytes = fs.readFileSync(file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = bytes.toString('latin1');
  }
  return { text: text.normalize('NFC'), sha256: sha256Hex(bytes) };
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function listFiles(dir: string, suffix: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith(suffix)).sort(byCodeUnits);
}

const normalizeForMatch = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim();

/** Splits a long section at paragraph boundaries; a part never breaks a paragraph. */
function splitIntoParts(paragraphs: Paragraph[]): Paragraph[][] {
  const parts: Paragraph[][] = [];
  let current: Paragraph[] = [];
  let size = 0;
  for (const p of paragraphs) {
    if (current.length > 0 && size + p.text.length > MAX_DOC_CHARS) {
      parts.push(current);
      current = [];
      size = 0;
    }
    current.push(p);
    size += p.text.length + PARAGRAPH_SEPARATOR.length;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

interface FaqEntry {
  pkg: string;
  source: string;
  docId: string;
  caseId: string;
  title: string;
  question: string;
  paragraphs: Paragraph[];
}

interface Candidate {
  doc: CorpusDoc;
  core: boolean;
}

function distractorDocs(pkg: string, source: string, idBase: string, fileTitle: string, sections: DocSection[], core: boolean): Candidate[] {
  const out: Candidate[] = [];
  sections.forEach((section, k) => {
    const parts = splitIntoParts(section.paragraphs);
    const titleParts = [fileTitle, ...section.ancestors, section.heading].filter((t, i, all) => t && all.indexOf(t) === i);
    parts.forEach((part, p) => {
      const text = sectionText(part);
      if (text.length < MIN_DISTRACTOR_CHARS || text.length > MAX_DISTRACTOR_CHARS) return;
      const suffix = parts.length > 1 ? `-p${p + 1}` : '';
      const title = titleParts.join(' > ') + (parts.length > 1 ? ` (part ${p + 1})` : '');
      out.push({ doc: { doc_id: `${idBase}#s${String(k + 1).padStart(4, '0')}${suffix}`, title, source: `${pkg}:${source}`, text }, core });
    });
  });
  return out;
}

function perlFaqEntries(dir: string): FaqEntry[] {
  const entries: FaqEntry[] = [];
  for (let n = 1; n <= 9; n++) {
    const file = `perlfaq${n}.pod`;
    const sections = parsePod(readText(path.join(dir, file)).text);
    const fileTitle = podTitle(sections) ?? `perlfaq${n}`;
    let ordinal = 0;
    for (const s of sections) {
      // Every =head2 of perlfaq1-9 is a question except a few topic headings ("Perl Books").
      if (s.level !== 1 || !/[?.]\)?$|\?/.test(s.heading)) continue;
      ordinal++;
      const q = `q${String(ordinal).padStart(3, '0')}`;
      const parent = s.ancestors[0];
      const title = parent && parent !== 'DESCRIPTION' ? `${fileTitle} > ${parent}` : fileTitle;
      entries.push({ pkg: PERL_PACKAGE, source: file, docId: `perlfaq${n}#${q}`, caseId: `perlfaq${n}-${q}`, title, question: s.heading, paragraphs: s.paragraphs });
    }
  }
  return entries;
}

function pythonFaqEntries(dir: string): FaqEntry[] {
  const entries: FaqEntry[] = [];
  const faqDir = path.join(dir, 'faq');
  for (const file of listFiles(faqDir, '.rst.txt')) {
    if (file === 'index.rst.txt') continue;
    const name = file.replace(/\.rst\.txt$/, '');
    const sections = parseRst(readText(path.join(faqDir, file)).text);
    const deepest = Math.max(...sections.map((s) => s.level));
    let ordinal = 0;
    for (const s of sections) {
      // Questions are the deepest headings (a few lack a '?'), plus any other heading that asks one.
      if (s.level === 0 || !(s.level === deepest || s.heading.includes('?'))) continue;
      ordinal++;
      const q = `q${String(ordinal).padStart(3, '0')}`;
      entries.push({
        pkg: PYTHON_PACKAGE, source: `faq/${file}`, docId: `pyfaq/${name}#${q}`, caseId: `pyfaq-${name}-${q}`,
        title: s.ancestors.join(' > '), question: s.heading, paragraphs: s.paragraphs,
      });
    }
  }
  return entries;
}

function perlDistractors(dir: string): Candidate[] {
  const out: Candidate[] = [];
  for (const file of listFiles(dir, '.pod')) {
    if (PERL_EXCLUDED.test(file)) continue;
    const name = file.replace(/\.pod$/, '');
    const sections = parsePod(readText(path.join(dir, file)).text, { splitOnItems: PERL_ITEM_SPLIT.has(name) });
    out.push(...distractorDocs(PERL_PACKAGE, file, `pod/${name}`, podTitle(sections) ?? name, sections, PERL_CORE.has(name)));
  }
  return out;
}

function pythonSourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const sub of PYTHON_DIRS) {
    const subDir = path.join(dir, sub);
    if (fs.existsSync(subDir)) files.push(...listFiles(subDir, '.rst.txt').map((f) => `${sub}/${f}`));
  }
  if (fs.existsSync(path.join(dir, 'glossary.rst.txt'))) files.push('glossary.rst.txt');
  return files;
}

function pythonDistractors(dir: string): Candidate[] {
  const out: Candidate[] = [];
  for (const rel of pythonSourceFiles(dir)) {
    const sections = parseRst(readText(path.join(dir, rel)).text);
    const fileTitle = sections[0]?.heading ?? rel;
    out.push(...distractorDocs(PYTHON_PACKAGE, rel, `py/${rel.replace(/\.rst\.txt$/, '')}`, fileTitle, sections, PYTHON_CORE.test(rel)));
  }
  return out;
}

/** Core manuals first, then the rest; within each tier a hash order spreads the pick over many files. */
function chooseDistractors(candidates: Candidate[], count: number): CorpusDoc[] {
  const keyed = candidates.map((c) => ({ c, h: sha256Hex(c.doc.doc_id) }));
  keyed.sort((a, b) => (a.c.core === b.c.core ? byCodeUnits(a.h, b.h) : a.c.core ? -1 : 1));
  const chosen = new Set(keyed.slice(0, count).map((k) => k.c.doc.doc_id));
  // Emit in source order, which keeps sections of one manual together in the file.
  return candidates.filter((c) => chosen.has(c.doc.doc_id)).map((c) => c.doc);
}

/** sha256 over every input file's name and content hash, in a fixed order. */
function inputsDigest(dirs: SourceDirs): string {
  const lines: string[] = [];
  for (const f of listFiles(dirs.perlPodDir, '.pod')) lines.push(`${PERL_PACKAGE}:${f} ${readText(path.join(dirs.perlPodDir, f)).sha256}`);
  const pyFiles = [...listFiles(path.join(dirs.pythonSourcesDir, 'faq'), '.rst.txt').map((f) => `faq/${f}`), ...pythonSourceFiles(dirs.pythonSourcesDir)];
  for (const f of pyFiles) lines.push(`${PYTHON_PACKAGE}:${f} ${readText(path.join(dirs.pythonSourcesDir, f)).sha256}`);
  return sha256Hex(lines.join('\n'));
}

export function buildFaqDataset(dirs: SourceDirs, versions: Record<string, string>): BuiltDataset {
  const entries = [...perlFaqEntries(dirs.perlPodDir), ...pythonFaqEntries(dirs.pythonSourcesDir)];
  const dropped: Record<string, number> = {};
  const drop = (reason: string): void => { dropped[reason] = (dropped[reason] ?? 0) + 1; };

  const questionCounts = new Map<string, number>();
  for (const e of entries) questionCounts.set(normalizeForMatch(e.question), (questionCounts.get(normalizeForMatch(e.question)) ?? 0) + 1);

  const faqDocs: CorpusDoc[] = [];
  const cases: EvalCase[] = [];
  for (const e of entries) {
    const text = sectionText(e.paragraphs);
    if (text === '') { drop('empty_answer'); continue; }
    faqDocs.push({ doc_id: e.docId, title: e.title, source: `${e.pkg}:${e.source}`, text });
    // A case is only fair if the answer is substantial, unambiguous and does not quote its question.
    if (text.length < MIN_ANSWER_TEXT_CHARS) { drop('answer_too_short'); continue; }
    if ((questionCounts.get(normalizeForMatch(e.question)) ?? 0) > 1) { drop('duplicate_question'); continue; }
    if (normalizeForMatch(text).includes(normalizeForMatch(e.question))) { drop('question_quoted_in_answer'); continue; }
    const span = pickAnswerSpan(e.paragraphs);
    if (!span) { drop('no_prose_answer'); continue; }
    cases.push({
      case_id: e.caseId, question: e.question, gold_doc_id: e.docId, gold_answer: span.text,
      answer_start: span.start, answer_end: span.end, split: splitFor(e.caseId), source: `${e.pkg}:${e.source}`,
    });
  }

  const distractors = [
    ...chooseDistractors(perlDistractors(dirs.perlPodDir), DISTRACTORS_PER_PACKAGE),
    ...chooseDistractors(pythonDistractors(dirs.pythonSourcesDir), DISTRACTORS_PER_PACKAGE),
  ];
  const docs = [...faqDocs, ...distractors];

  const countBy = <T>(items: T[], key: (t: T) => string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
    return out;
  };
  const pkgOf = (source: string): string => source.slice(0, source.indexOf(':'));

  return {
    docs,
    cases,
    manifest: {
      created: `FAQ-derived from Debian ${PERL_PACKAGE} and ${PYTHON_PACKAGE}`,
      builder_version: builderVersion(),
      source_packages: versions,
      inputs_sha256: inputsDigest(dirs),
      split_rule: SPLIT_RULE,
      counts: {
        docs: docs.length,
        faq_docs: faqDocs.length,
        distractor_docs: distractors.length,
        cases: cases.length,
        train: cases.filter((c) => c.split === 'train').length,
        dev: cases.filter((c) => c.split === 'dev').length,
        cases_by_package: countBy(cases, (c) => pkgOf(c.source)),
        faq_questions_found: countBy(entries, (e) => e.pkg),
        cases_dropped: Object.fromEntries(Object.entries(dropped).sort(([a], [b]) => byCodeUnits(a, b))),
        questions_quoted_elsewhere: countQuotedElsewhere(cases, docs),
      },
    },
  };
}

/** How many questions occur verbatim in a document other than their gold one (e.g. a cross-reference). */
function countQuotedElsewhere(cases: EvalCase[], docs: CorpusDoc[]): number {
  const starts: number[] = [];
  let all = '';
  for (const d of docs) {
    starts.push(all.length);
    all += `${normalizeForMatch(d.text)}\u0000`;
  }
  const docAt = (pos: number): string => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= pos) lo = mid; else hi = mid - 1;
    }
    return docs[lo].doc_id;
  };
  let count = 0;
  for (const c of cases) {
    const q = normalizeForMatch(c.question);
    for (let at = all.indexOf(q); at >= 0; at = all.indexOf(q, at + 1)) {
      if (docAt(at) !== c.gold_doc_id) { count++; break; }
    }
  }
  return count;
}

function jsonl(rows: object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** Validates the rows against the published schemas and writes the three files; manifest last. */
export function writeDataset(outDir: string, built: BuiltDataset): DatasetManifest {
  for (const d of built.docs) CorpusDoc.parse(d);
  for (const c of built.cases) EvalCase.parse(c);
  fs.mkdirSync(outDir, { recursive: true });
  // Without a manifest the directory reads as "not built", so a crash mid-write forces a rebuild.
  fs.rmSync(path.join(outDir, MANIFEST_FILE), { force: true });
  const files = {} as DatasetManifest['files'];
  for (const [name, rows] of [[CORPUS_FILE, built.docs], [CASES_FILE, built.cases]] as const) {
    const content = Buffer.from(jsonl(rows), 'utf8');
    fs.writeFileSync(path.join(outDir, `${name}.tmp`), content);
    fs.renameSync(path.join(outDir, `${name}.tmp`), path.join(outDir, name));
    files[name] = { sha256: sha256Hex(content), bytes: content.length, lines: rows.length };
  }
  const { counts, ...provenance } = built.manifest;
  const manifest = DatasetManifest.parse({ ...provenance, files, counts });
  fs.writeFileSync(path.join(outDir, `${MANIFEST_FILE}.tmp`), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(path.join(outDir, `${MANIFEST_FILE}.tmp`), path.join(outDir, MANIFEST_FILE));
  return manifest;
}

/** Why the dataset in outDir must be rebuilt, or null when it is current and intact. */
export async function staleReason(outDir: string, versions: Record<string, string>): Promise<string | null> {
  try {
    const { manifest } = await loadDataset(outDir);
    const current = builderVersion();
    if (manifest.builder_version !== current) return `builder version ${manifest.builder_version} → ${current}`;
    for (const [pkg, version] of Object.entries(versions)) {
      if (manifest.source_packages[pkg] !== version) return `${pkg} ${manifest.source_packages[pkg] ?? '(none)'} → ${version}`;
    }
    return null;
  } catch (e) {
    if (e instanceof DatasetError) return e.message;
    throw e;
  }
}

interface CliArgs {
  out: string;
  check: boolean;
  perlPodDir?: string;
  pythonSourcesDir?: string;
}

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = { out: dataDir, check: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new DatasetError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--out': args.out = value(); break;
      case '--check': args.check = true; break;
      case '--perl-pod-dir': args.perlPodDir = value(); break;
      case '--python-sources-dir': args.pythonSourcesDir = value(); break;
      default: throw new DatasetError(`unknown option ${flag} (options: --out DIR, --check, --perl-pod-dir DIR, --python-sources-dir DIR)`);
    }
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const versions = packageVersions();
  if (args.check) {
    const reason = await staleReason(args.out, versions);
    console.error(reason === null ? `dataset in ${args.out} is current` : `dataset in ${args.out} needs a build: ${reason}`);
    return reason === null ? 0 : 1;
  }
  const { perlPodDir, pythonSourcesDir } = args;
  const dirs: SourceDirs = perlPodDir && pythonSourcesDir
    ? { perlPodDir, pythonSourcesDir }
    : { ...findSourceDirs(), ...(perlPodDir ? { perlPodDir } : {}), ...(pythonSourcesDir ? { pythonSourcesDir } : {}) };
  const t0 = Date.now();
  const manifest = writeDataset(args.out, buildFaqDataset(dirs, versions));
  const c = manifest.counts;
  console.error(`wrote ${args.out}: ${c.docs} docs (${c.faq_docs} FAQ answers, ${c.distractor_docs} distractors), ${c.cases} cases (train ${c.train}, dev ${c.dev}; ${JSON.stringify(c.cases_by_package)}), dropped ${JSON.stringify(c.cases_dropped)} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return 0;
}

if (require.main === module) {
  main().then((code) => { process.exitCode = code; }, (e: unknown) => {
    console.error(e instanceof DatasetError ? `error: ${e.message}` : e);
    process.exitCode = 2;
  });
}
