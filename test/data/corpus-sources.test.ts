// The corpus sources and case readers on datasets the test writes out (a seeded synthetic corpus as
// JSONL, as BEIR, as a file tree): documents stream in order with file:line, the fingerprints are
// order-independent and change with any edit, and every bad input is one problem naming file:line
// and field. Pure file I/O: no servers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seededRandom } from '../../src/platform/seeded-random';
import { readBeirCases, readExtractiveCases, caseSetSupport, supportedMetricNames } from '../../src/data/sources/cases';
import { BeirSource } from '../../src/data/sources/beir-source';
import { htmlToText } from '../../src/data/sources/html-text';
import { JsonlSource } from '../../src/data/sources/jsonl-source';
import { TreeSource } from '../../src/data/sources/tree-source';
import { problemLine, SourceError, type CorpusSource, type SourceProblem } from '../../src/data/sources/types';
import { splitFor } from '../../src/data/dataset';
import { CorpusFingerprinter, documentContentHash, fingerprintDocuments } from '../../src/rag/corpus-fingerprint';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-sources-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const WORDS = ['index', 'vector', 'query', 'shard', 'replica', 'token', 'chunk', 'cursor', 'lease', 'rollout', 'baseline', 'canary'];
function syntheticDocs(n: number, seed: number): { id: string; title: string; text: string; metadata: Record<string, unknown> }[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `doc-${i}`,
    title: `Doc ${i}`,
    text: Array.from({ length: 20 + Math.floor(rnd() * 30) }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' '),
    metadata: { n: i, lang: 'en' },
  }));
}

async function collect(source: CorpusSource): Promise<{ docs: { id: string; at: string; sha256: string; title: string; text: string }[]; problems: string[]; snapshot: string }> {
  const problems: SourceProblem[] = [];
  const docs = [];
  const snap = new CorpusFingerprinter();
  for await (const d of source.docs({ onProblem: (p) => problems.push(p) })) {
    docs.push(d);
    snap.add(d.id, d.sha256);
  }
  return { docs, problems: problems.map(problemLine), snapshot: snap.digest().snapshot };
}

function write(name: string, text: string | Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

test('JSONL: every document in order with file:line; the snapshot is the ingest\'s, ignores order, and changes with an edit', async () => {
  const docs = syntheticDocs(500, 11);
  const file = write('a/docs.jsonl', docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const a = await collect(new JsonlSource(file));
  expect(a.problems).toEqual([]);
  expect(a.docs.map((d) => d.id)).toEqual(docs.map((d) => d.id));
  expect(a.docs[41].at).toBe(`${file}:42`);
  expect(a.docs[0].sha256).toBe(documentContentHash(docs[0].title, docs[0].text));
  // The same fingerprint ingest computes over its input documents (src/rag/corpus-fingerprint.ts).
  expect(a.snapshot).toBe(fingerprintDocuments(docs.map((d) => ({ doc_id: d.id, title: d.title, text: d.text }))).snapshot);

  const reordered = [...docs].reverse().map((d) => JSON.stringify({ metadata: { lang: 'en', n: d.metadata.n }, text: d.text, title: d.title, id: d.id }));
  const b = await collect(new JsonlSource(write('a/reordered.jsonl', reordered.join('\n'))));
  expect(b.snapshot).toBe(a.snapshot);

  const edited = docs.map((d, i) => JSON.stringify(i === 250 ? { ...d, text: `${d.text}!` } : d));
  const c = await collect(new JsonlSource(write('a/edited.jsonl', edited.join('\n'))));
  expect(c.snapshot).not.toBe(a.snapshot);
  expect(c.docs.filter((d, i) => d.sha256 !== a.docs[i].sha256).map((d) => d.id)).toEqual(['doc-250']);
  const removed = await collect(new JsonlSource(write('a/removed.jsonl', docs.slice(1).map((d) => JSON.stringify(d)).join('\n'))));
  expect(removed.snapshot).not.toBe(a.snapshot);
});

test('JSONL: each bad line is one problem with file:line and field; without a collector the first one throws', async () => {
  const good = JSON.stringify({ id: 'x', text: 'fine' });
  const file = write(
    'bad/docs.jsonl',
    Buffer.concat([
      Buffer.from(`${good}\n{"id":"y"}\n${good}\nnot json\n{"id":"z","text":"a","metadata":[1]}\n`),
      Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // {"id":"\xff\xfe"}
      Buffer.from('{"id":"","text":"t"}\n'),
    ]),
  );
  const r = await collect(new JsonlSource(file));
  expect(r.docs.map((d) => d.id)).toEqual(['x']);
  expect(r.problems).toEqual([
    `${file}:2: text: missing`,
    `${file}:3: id: duplicate id "x" (first at line 1)`,
    `${file}:4: (line): not valid JSON (Unexpected token 'o', "not json" is not valid JSON)`,
    `${file}:5: metadata: Invalid input: expected record, received array`,
    `${file}:6: (line): not valid UTF-8`,
    `${file}:7: id: must not be empty`,
  ]);
  const iterate = async () => {
    for await (const d of new JsonlSource(file).docs()) void d;
  };
  await expect(iterate()).rejects.toThrow(new SourceError({ at: `${file}:2`, field: 'text', message: 'missing' }).message);

  const empty = write('bad/empty.jsonl', '\n\n');
  expect((await collect(new JsonlSource(empty))).problems).toEqual([`${empty}: (file): empty corpus: no documents`]);
  expect((await collect(new JsonlSource(path.join(dir, 'nope.jsonl')))).problems).toEqual([`${path.join(dir, 'nope.jsonl')}: (file): does not exist`]);
});

function writeBeir(name: string, docs: ReturnType<typeof syntheticDocs>, qrels: Record<string, string>): string {
  const root = path.join(dir, name);
  write(`${name}/corpus.jsonl`, docs.map((d) => JSON.stringify({ _id: d.id, title: d.title, text: d.text, metadata: d.metadata })).join('\n') + '\n');
  write(`${name}/queries.jsonl`, ['q1', 'q2', 'q3', 'q4'].map((q) => JSON.stringify({ _id: q, text: `question ${q}` })).join('\n') + '\n');
  for (const [split, tsv] of Object.entries(qrels)) write(`${name}/qrels/${split}.tsv`, tsv);
  return root;
}

test('BEIR: corpus streamed by _id; cases with several graded relevant documents, split from the qrels file name', async () => {
  const docs = syntheticDocs(30, 5);
  const root = writeBeir('beir', docs, {
    train: 'query-id\tcorpus-id\tscore\nq1\tdoc-1\t2\nq1\tdoc-2\t1\nq1\tdoc-3\t0\nq2\tdoc-4\t1\n',
    test: 'query-id\tcorpus-id\tscore\nq3\tdoc-5\t1\nq3\tdoc-6\t3\nq4\tdoc-7\t0\n',
  });
  const src = new BeirSource(root);
  const r = await collect(src);
  expect(r.problems).toEqual([]);
  expect(r.docs).toHaveLength(30);
  expect(r.docs[2]).toMatchObject({ id: 'doc-2', title: 'Doc 2', at: `${root}/corpus.jsonl:3` });
  const problems: SourceProblem[] = [];
  const cases = await src.cases({ onProblem: (p) => problems.push(p) });
  expect(problems).toEqual([]);
  expect(cases.map((c) => [c.case_id, c.split, c.relevant])).toEqual([
    ['q3', 'test', { 'doc-5': 1, 'doc-6': 3 }], // q4 has only a grade-0 judgement: not a case
    ['q1', 'train', { 'doc-1': 2, 'doc-2': 1, 'doc-3': 0 }],
    ['q2', 'train', { 'doc-4': 1 }],
  ]);
  const support = caseSetSupport(cases);
  expect(support).toMatchObject({ graded: true, multiRelevant: true, reader: false, casesWithAnswers: 0 });
  expect(supportedMetricNames(support)).toEqual(['hit_rate', 'mrr', 'ndcg', 'recall']);
});

test('BEIR: unknown query, bad score, wrong column count, a query in two splits and a split with no cases are each one line', async () => {
  const root = writeBeir('beir-bad', syntheticDocs(5, 1), {
    dev: 'query-id\tcorpus-id\tscore\nq1\tdoc-1\t1\nq9\tdoc-1\t1\nq2\tdoc-2\thigh\nq2 doc-2 1\n',
    test: 'q1\tdoc-2\t1\n',
    train: 'query-id\tcorpus-id\tscore\nq3\tdoc-1\t0\n',
  });
  const problems: string[] = [];
  await readBeirCases(root, { onProblem: (p) => problems.push(problemLine(p)) });
  expect(problems).toEqual([
    `${root}/qrels/dev.tsv:3: query-id: unknown query "q9" (not in queries.jsonl)`,
    `${root}/qrels/dev.tsv:4: score: "high" is not a whole number ≥ 0`,
    `${root}/qrels/dev.tsv:5: (line): expected 3 tab-separated columns (query-id, corpus-id, score), found 1`,
    `${root}/qrels/test.tsv:1: query-id: query "q1" is already judged in split dev (${root}/qrels/dev.tsv:2)`,
    `${root}/qrels/test.tsv: (file): split test has no cases (no judgement with score ≥ 1)`,
    `${root}/qrels/train.tsv: (file): split train has no cases (no judgement with score ≥ 1)`,
  ]);
});

test('extractive cases: the FAQ format, relevant maps, hash-rule splits, and one line per bad case', async () => {
  const file = write(
    'cases/c.jsonl',
    [
      { case_id: 'c1', question: 'what is a lease?', gold_doc_id: 'doc-1', gold_answer: 'lease', answer_start: 0, answer_end: 5, split: 'dev' },
      { question: 'two docs?', relevant: { 'doc-2': 2, 'doc-3': 1 } },
      { case_id: 'c3', question: 'bad span', gold_doc_id: 'doc-1', gold_answer: 'x', answer_start: 4, answer_end: 2 },
      { case_id: 'c4', question: '' },
      { case_id: 'c1', question: 'again', gold_doc_id: 'doc-1' },
      { case_id: 'c6', question: 'answer without span', gold_doc_id: 'doc-1', gold_answer: 'x' },
    ].map((c) => JSON.stringify(c)).join('\n'),
  );
  const problems: string[] = [];
  const cases = await readExtractiveCases(file, { onProblem: (p) => problems.push(problemLine(p)) });
  expect(problems).toEqual([
    `${file}:3: answer_end: must be greater than answer_start`,
    `${file}:4: question: must not be empty`,
    `${file}:4: gold_doc_id: missing (give gold_doc_id, or relevant with a grade ≥ 1)`,
    `${file}:5: case_id: duplicate case "c1" (first at line 1)`,
    `${file}:6: gold_answer: a gold_answer needs gold_doc_id, answer_start and answer_end`,
  ]);
  expect(cases).toHaveLength(2);
  expect(cases[0]).toMatchObject({ case_id: 'c1', split: 'dev', relevant: { 'doc-1': 1 }, answer: { doc_id: 'doc-1', text: 'lease', start: 0, end: 5 } });
  expect(cases[1].case_id).toMatch(/^q-[0-9a-f]{16}$/);
  expect(cases[1].split).toBe(splitFor(cases[1].case_id));
  expect(cases[1].relevant).toEqual({ 'doc-2': 2, 'doc-3': 1 });
  expect(caseSetSupport(cases).reader).toBe(false);
  expect(caseSetSupport(cases.slice(0, 1)).reader).toBe(true);
});

test('directory tree: id = relative path, title from the first heading or the file name, HTML and reST as text', async () => {
  const root = path.join(dir, 'tree');
  write('tree/guide/intro.md', 'Some preface.\n\n# Getting started\n\nInstall it.\n');
  write('tree/guide/notes.txt', '# not a heading in a text file\nplain words\n');
  write('tree/api.rst', 'Client API\n==========\n\nCall :func:`connect` first.\n');
  write('tree/page.html', '<html><head><title>Leases &amp; pointers</title><style>p{}</style></head><body><h1>Ignored h1</h1><p>One&nbsp;pointer&#x2019;s lease.</p><script>evil()</script><ul><li>a</li><li>b &lt; c</li></ul></body></html>');
  write('tree/image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  write('tree/.hidden.md', '# hidden');
  write('tree/broken.md', Buffer.from([0x23, 0x20, 0xc3, 0x28]));
  write('tree/blank.txt', '   \n');
  const r = await collect(new TreeSource(root));
  expect(r.problems).toEqual([`${root}/blank.txt:1: text: no text in the file`, `${root}/broken.md:1: (file): not valid UTF-8`]);
  expect(r.docs.map((d) => [d.id, d.title])).toEqual([
    ['api.rst', 'Client API'],
    ['guide/intro.md', 'Getting started'],
    ['guide/notes.txt', 'notes'],
    ['page.html', 'Leases & pointers'],
  ]);
  expect(r.docs[0].text).toBe('Client API\n\nCall connect() first.');
  expect(r.docs[3].text).toBe('Ignored h1\nOne pointer’s lease.\na\nb < c');
  expect((await collect(new TreeSource(path.join(dir, 'cases')))).problems).toEqual([`${path.join(dir, 'cases')}: (dir): empty corpus: no .md .markdown .txt .rst .html .htm files`]);
});

test('HTML extractor: title falls back to the first h1; comments and unknown entities', () => {
  expect(htmlToText('<h1>Top <b>title</b></h1><!-- <p>gone</p> --><p>x &bogus; &#65;</p>')).toEqual({ title: 'Top title', text: 'Top title\nx &bogus; A' });
  expect(htmlToText('<p>no title</p>').title).toBeNull();
});

test('registry resolution: NAME:split gives its cases; the corpus streams in batches and fails when it changed since registration', async () => {
  const { addDataset } = await import('../../src/data/registry');
  const { registeredCorpusBatches, resolveRegisteredCaseSet } = await import('../../src/data/registry-resolve');
  const home = path.join(dir, 'home');
  const docs = syntheticDocs(150, 3);
  const file = write('reg/docs.jsonl', docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const casesFile = write('reg/cases.jsonl', docs.slice(0, 9).map((d, i) => JSON.stringify({ case_id: `k${i}`, question: `q${i}`, gold_doc_id: d.id, split: i < 6 ? 'train' : 'test' })).join('\n') + '\n');
  await addDataset(home, 'reg', { kind: 'jsonl', file, cases: casesFile });

  expect(resolveRegisteredCaseSet(home, 'reg:test').map((c) => c.case_id)).toEqual(['k6', 'k7', 'k8']);
  expect(resolveRegisteredCaseSet(home, 'reg:all')).toHaveLength(9);
  expect(() => resolveRegisteredCaseSet(home, 'reg:dev')).toThrow('case set reg:dev: dataset reg has no split dev (its splits: test, train, or all)');
  expect(() => resolveRegisteredCaseSet(home, 'reg')).toThrow('case set "reg" must be NAME:split (e.g. faq:dev, mydocs:test, mydocs:all)');

  const sizes: number[] = [];
  for await (const b of registeredCorpusBatches(home, 'reg', 64)) sizes.push(b.length);
  expect(sizes).toEqual([64, 64, 22]);

  fs.writeFileSync(file, docs.slice(0, 149).map((d) => JSON.stringify(d)).join('\n') + '\n');
  const seen: number[] = [];
  const drain = async () => {
    for await (const b of registeredCorpusBatches(home, 'reg', 64)) seen.push(b.length);
  };
  await expect(drain()).rejects.toThrow(/^dataset reg: the corpus changed since registration \(snapshot sha256 [0-9a-f]{64}, 149 documents; registered [0-9a-f]{64}, 150\)/);
  expect(seen).toEqual([64, 64]); // the last batch is held back until the snapshot matched
});
