// `bakeoff dataset add|list|show|verify` as real processes on datasets the test writes out: a seeded
// synthetic corpus and a slice of the bundled FAQ as BEIR directories, a JSONL file with extractive cases, a file tree, and a
// PostgreSQL table (the suite's real server). Each kind registers with its counts, checksums and
// supported metrics; a bad input of each kind gives one line naming file:line (or the query row)
// and field, exit 2, and nothing under the registry.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { subsetForTests } from '../../src/data/dataset';
import { seededRandom } from '../../src/platform/seeded-random';
import { bakeoffProcess } from '../support/cli';
import { freshPgDatabase } from '../support/serve-fixture';

let dir: string;
let home: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-registry-'));
  home = path.join(dir, 'home');
  env = { PATH: process.env.PATH, HOME: process.env.HOME, USER: 'registry-test', BAKEOFF_HOME: home };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const WORDS = ['lease', 'pointer', 'shard', 'canary', 'rollback', 'index', 'vector', 'cursor', 'replica', 'quorum'];
function docs(n: number): { id: string; title: string; text: string }[] {
  const rnd = seededRandom(7);
  return Array.from({ length: n }, (_, i) => ({ id: `d${i}`, title: `Doc ${i}`, text: `${WORDS[i % WORDS.length]} ${Array.from({ length: 25 }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ')}` }));
}

function write(rel: string, text: string | Buffer): string {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

const registered = (name: string) => fs.existsSync(path.join(home, 'datasets', name));

/** Exit 2, the problem lines exactly, and nothing registered. */
async function expectRejected(name: string, args: string[], problems: string[]): Promise<void> {
  const r = await bakeoffProcess(['dataset', 'add', name, ...args], env, 60_000);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toEqual([...problems, `bakeoff: dataset ${name}: ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing registered`]);
  expect(registered(name)).toBe(false);
  expect(r.stdout).toBe('');
}

test('BEIR directory: registers with graded, multi-relevant cases; a qrel naming an unknown document is one line', async () => {
  const corpus = docs(40);
  const root = path.join(dir, 'beir');
  write('beir/corpus.jsonl', corpus.map((d) => JSON.stringify({ _id: d.id, title: d.title, text: d.text })).join('\n') + '\n');
  write('beir/queries.jsonl', Array.from({ length: 6 }, (_, i) => JSON.stringify({ _id: `q${i}`, text: `about ${WORDS[i]}` })).join('\n') + '\n');
  write('beir/qrels/train.tsv', 'query-id\tcorpus-id\tscore\nq0\td0\t2\nq0\td10\t1\nq1\td1\t1\nq2\td2\t1\n');
  write('beir/qrels/test.tsv', 'query-id\tcorpus-id\tscore\nq3\td3\t1\nq4\td4\t1\nq4\td14\t2\nq5\td5\t1\n');
  const r = await bakeoffProcess(['dataset', 'add', 'ir', '--beir', root], env, 60_000);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`dataset ir (beir): ${root}`);
  expect(r.stdout).toMatch(/^corpus: 40 documents, [\d.]+ MB of text, snapshot sha256 [0-9a-f]{64}$/m);
  expect(r.stdout).toContain('cases: 6 (test 3, train 3); default case set ir:test');
  expect(r.stdout).toContain('metrics: hit_rate, mrr, ndcg, recall (nDCG with graded gains); several relevant documents per case; no reader F1: 0 of 6 cases have a gold answer');
  const show = JSON.parse((await bakeoffProcess(['dataset', 'show', 'ir', '--json'], env)).stdout);
  expect(show.files.map((f: { path: string }) => path.relative(root, f.path))).toEqual(['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv']);
  expect(fs.readFileSync(path.join(home, 'datasets/ir/cases.jsonl'), 'utf8').trim().split('\n')).toHaveLength(6);

  write('beir-bad/corpus.jsonl', fs.readFileSync(path.join(root, 'corpus.jsonl')));
  write('beir-bad/queries.jsonl', fs.readFileSync(path.join(root, 'queries.jsonl')));
  const bad = write('beir-bad/qrels/test.tsv', 'query-id\tcorpus-id\tscore\nq3\tnope\t1\nq4\td4\t1\n');
  await expectRejected('irbad', ['--beir', path.join(dir, 'beir-bad')], [`${bad}:2: corpus-id: unknown document "nope" (not in the corpus)`]);
}, 120_000);

test('the FAQ written out as BEIR (40 cases, their gold documents and distractors) registers with its splits and document count', async () => {
  const faq = await subsetForTests(40);
  const root = path.join(dir, 'faq-beir');
  write('faq-beir/corpus.jsonl', faq.docs.map((d) => JSON.stringify({ _id: d.doc_id, title: d.title, text: d.text, metadata: { source: d.source } })).join('\n') + '\n');
  write('faq-beir/queries.jsonl', faq.cases.map((c) => JSON.stringify({ _id: c.case_id, text: c.question })).join('\n') + '\n');
  for (const split of ['train', 'dev'] as const) {
    write(`faq-beir/qrels/${split}.tsv`, ['query-id\tcorpus-id\tscore', ...faq.cases.filter((c) => c.split === split).map((c) => `${c.case_id}\t${c.gold_doc_id}\t1`)].join('\n') + '\n');
  }
  const r = await bakeoffProcess(['dataset', 'add', 'faqbeir', '--beir', root], env, 60_000);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.code).toBe(0);
  const m = JSON.parse(fs.readFileSync(path.join(home, 'datasets/faqbeir/manifest.json'), 'utf8'));
  const count = (split: string) => faq.cases.filter((c) => c.split === split).length;
  expect(m.corpus.docs).toBe(faq.docs.length);
  expect(m.cases).toMatchObject({ total: faq.cases.length, splits: { train: count('train'), dev: count('dev') }, default_split: 'dev', graded: false, multi_relevant: false, metrics: ['hit_rate', 'mrr', 'ndcg', 'recall'] });
}, 120_000);

test('JSONL + extractive cases: registers with reader metrics; verify catches an edit; bad documents and cases are one line each', async () => {
  const corpus = docs(30);
  const file = write('jsonl/docs.jsonl', corpus.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const cases = Array.from({ length: 8 }, (_, i) => {
    const d = corpus[i];
    const answer = d.text.split(' ')[0];
    return { case_id: `c${i}`, question: `what is ${answer}?`, gold_doc_id: d.id, gold_answer: answer, answer_start: 0, answer_end: answer.length, split: i < 5 ? 'train' : 'dev' };
  });
  const casesFile = write('jsonl/cases.jsonl', cases.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const r = await bakeoffProcess(['dataset', 'add', 'notes', '--jsonl', file, '--cases', casesFile], env, 60_000);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('cases: 8 (train 5, dev 3); default case set notes:dev');
  expect(r.stdout).toMatch(/^metrics: hit_rate, mrr, ndcg, recall, f1, precision$/m);
  const again = await bakeoffProcess(['dataset', 'add', 'notes', '--jsonl', file], env);
  expect(again.code).toBe(2);
  expect(again.stderr.trim()).toBe(`bakeoff: dataset notes is already registered (${path.join(home, 'datasets', 'notes')}); verify it with: bakeoff dataset verify notes`);

  const ok = await bakeoffProcess(['dataset', 'verify', 'notes'], env);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/^dataset notes: as registered \(30 documents, snapshot sha256 [0-9a-f]{64}\)$/m);
  fs.appendFileSync(file, JSON.stringify({ id: 'late', text: 'added after registration' }) + '\n');
  const changed = await bakeoffProcess(['dataset', 'verify', 'notes'], env);
  expect(changed.code).toBe(2);
  const lines = changed.stderr.trim().split('\n');
  expect(lines[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\(file\\): sha256 [0-9a-f]{64} differs from the registered [0-9a-f]{64}$`));
  expect(lines[1]).toMatch(/^corpus: snapshot: sha256 [0-9a-f]{64} \(31 documents\) differs from the registered [0-9a-f]{64} \(30 documents\)$/);
  expect(lines[2]).toBe('bakeoff: dataset notes: 2 differences from the registered manifest');

  const badDocs = write('jsonl-bad/docs.jsonl', `${JSON.stringify(corpus[0])}\n{"id":"d1","title":"no text"}\n${JSON.stringify(corpus[0])}\n`);
  await expectRejected('jbad', ['--jsonl', badDocs], [`${badDocs}:2: text: missing`, `${badDocs}:3: id: duplicate id "d0" (first at line 1)`]);
  const badCases = write('jsonl-bad/cases.jsonl', [JSON.stringify({ ...cases[0], answer_start: 1, answer_end: 3 }), JSON.stringify({ question: 'q', gold_doc_id: 'd999' })].join('\n'));
  await expectRejected('cbad', ['--jsonl', file, '--cases', badCases], [
    `${badCases}:1: answer_start: answer_start..answer_end (1..3) does not slice gold_doc_id "d0"'s text to gold_answer`,
    `${badCases}:2: gold_doc_id: unknown document "d999" (not in the corpus)`,
  ]);
  const empty = write('jsonl-bad/empty.jsonl', '');
  await expectRejected('ebad', ['--jsonl', empty], [`${empty}: (file): empty corpus: no documents`]);
}, 180_000);

test('directory tree: ids are relative paths; a file that is not UTF-8 is one line', async () => {
  write('tree/ops/runbook.md', '# Runbook\n\nRestart the worker, then check the lease.\n');
  write('tree/faq.html', '<title>FAQ</title><p>How do I roll back?</p>');
  write('tree/readme.txt', 'plain text');
  const casesFile = write('tree-cases.jsonl', JSON.stringify({ question: 'how to restart?', gold_doc_id: 'ops/runbook.md', split: 'dev' }) + '\n');
  const r = await bakeoffProcess(['dataset', 'add', 'handbook', '--dir', path.join(dir, 'tree'), '--cases', casesFile], env);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^corpus: 3 documents/m);
  expect(r.stdout).toContain('cases: 1 (dev 1); default case set handbook:dev');
  const list = await bakeoffProcess(['dataset', 'list'], env);
  expect(list.stdout).toMatch(/^faq\s+bundled\s+-\s+train, dev\s+/m);
  expect(list.stdout).toMatch(new RegExp(`^handbook\\s+dir\\s+3\\s+dev\\s+${path.join(dir, 'tree')}$`, 'm'));

  const bad = write('tree-bad/latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1
  write('tree-bad/ok.md', '# fine');
  await expectRejected('treebad', ['--dir', path.join(dir, 'tree-bad')], [`${bad}:1: (file): not valid UTF-8`]);
}, 120_000);

test('PostgreSQL query: read through a cursor, other columns become metadata; NULL text and a missing column are one line', async () => {
  const url = await freshPgDatabase('dataset_registry_test');
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE TABLE team_docs (doc_key text PRIMARY KEY, heading text, body text, team text)');
    const corpus = docs(1200); // more than two FETCH batches of 500
    for (let i = 0; i < corpus.length; i += 200) {
      const rows = corpus.slice(i, i + 200);
      await c.query(`INSERT INTO team_docs SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`, [rows.map((d) => d.id), rows.map((d) => d.title), rows.map((d) => d.text), rows.map(() => 'search')]);
    }
    const sql = 'SELECT doc_key AS id, heading AS title, body AS text, team FROM team_docs';
    const r = await bakeoffProcess(['dataset', 'add', 'tablecorpus', '--pg', url, '--sql', sql], env, 60_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^corpus: 1200 documents/m);
    expect(r.stdout).toContain('cases: none');
    const manifest = JSON.parse(fs.readFileSync(path.join(home, 'datasets/tablecorpus/manifest.json'), 'utf8'));
    expect(manifest.spec).toEqual({ kind: 'pg', dsn: new URL(url).toString(), sql });

    // Re-read unchanged: the same snapshot (verify passes); one edited row: a different one.
    expect((await bakeoffProcess(['dataset', 'verify', 'tablecorpus'], env)).code).toBe(0);
    await c.query(`UPDATE team_docs SET body = body || ' edited' WHERE doc_key = 'd7'`);
    const changed = await bakeoffProcess(['dataset', 'verify', 'tablecorpus'], env);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/^query: snapshot: sha256 [0-9a-f]{64} \(1200 documents\) differs from the registered/m);

    await c.query(`INSERT INTO team_docs VALUES ('zz-null', 'empty', NULL, 'search')`);
    await expectRejected('pgbad', ['--pg', url, '--sql', `${sql} ORDER BY doc_key DESC`], ['query row 1: text: missing or empty (document "zz-null")']);
    await expectRejected('pgcols', ['--pg', url, '--sql', 'SELECT doc_key, body FROM team_docs'], ['query: --sql: the query must return columns id and text (missing id, text; it returns doc_key, body)']);
  } finally {
    await c.end();
  }
}, 180_000);

test('usage mistakes are one line', async () => {
  const two = await bakeoffProcess(['dataset', 'add', 'x', '--jsonl', 'a', '--dir', 'b'], env);
  expect(two.stderr.trim()).toBe('bakeoff: give exactly one of --beir DIR, --jsonl FILE, --dir PATH, --pg DSN (got --jsonl, --dir)');
  const faq = await bakeoffProcess(['dataset', 'add', 'faq', '--jsonl', 'a'], env);
  expect(faq.stderr.trim()).toBe('bakeoff: dataset name faq is the bundled FAQ dataset; choose another name');
  const missing = await bakeoffProcess(['dataset', 'show', 'nothing'], env);
  expect(missing.stderr.trim()).toBe(`bakeoff: no dataset "nothing" is registered under ${path.join(home, 'datasets')} (see bakeoff dataset list)`);
  expect(missing.code).toBe(2);
}, 60_000);
