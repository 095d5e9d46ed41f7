// The corpus lock with split worker roles (issue 16 item 1): the control worker's lockConfig records a
// registered snapshot only where its home has the dataset; the data worker's lockCorpus streams the
// registered corpus from its own registry and returns the snapshot the registration and ingest compute.
// Real registry files in temporary homes, plain activity calls (no servers: neither step needs one).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { lockCorpus } from '../../src/activities/lock-corpus';
import { createLockConfigActivities } from '../../src/activities/lock-config';
import type { Dataset } from '../../src/data/dataset';
import { addDataset } from '../../src/data/registry';
import { defaultCandidate, type LockedConfig } from '../../src/rag/config';

const ID = { embedder: 'all-MiniLM-L6-v2', tokenizer: 'all-MiniLM-L6-v2', tokenizer_hash: 'ab12cd34ef56ab12' };
const DOCS = Array.from({ length: 23 }, (_, i) => ({ id: `note-${i}`, title: `Note ${i}`, text: `Note ${i} says the kettle ${i % 2 ? 'whistles' : 'hums'} at ${90 + i} degrees.` }));
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
/** The snapshot formula, restated: sha256 over sorted `id \t sha256(title \0 text) \n` lines. */
const snapshotOf = (docs: readonly { id: string; title: string; text: string }[]): string => sha256(docs.map((d) => `${d.id}\t${sha256(`${d.title}\0${d.text}`)}\n`).sort().join(''));

let tmp: string;
let dataHome: string;
let controlHome: string;
let file: string;
const noFaq = { dataset: (): Promise<Dataset> => Promise.reject(new Error('the bundled FAQ was not asked for')) };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-lock-corpus-'));
  dataHome = path.join(tmp, 'data-worker');
  controlHome = path.join(tmp, 'control-worker');
  file = path.join(tmp, 'notes.jsonl');
  fs.writeFileSync(file, DOCS.map((d) => JSON.stringify(d)).join('\n') + '\n');
  await addDataset(dataHome, 'notes', { kind: 'jsonl', file });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

test('a control worker without the dataset locks the config; the data worker fingerprints the registered corpus', async () => {
  const locked = (await createLockConfigActivities(controlHome).lockConfig({ candidate: { ...defaultCandidate(ID), dataset: 'notes' }, requestedBy: 'ana' })) as LockedConfig;
  expect(locked.dataset).toBe('notes');
  expect(locked.corpus_snapshot).toBeUndefined();

  const corpus = await lockCorpus({ ...noFaq, home: dataHome }, { locked });
  expect(corpus).toEqual({ dataset: 'notes', snapshot: snapshotOf(DOCS), documents: DOCS.length });
  const manifest = JSON.parse(fs.readFileSync(path.join(dataHome, 'datasets', 'notes', 'manifest.json'), 'utf8'));
  expect(corpus.snapshot).toBe(manifest.corpus.snapshot_sha256);

  // Registered nowhere the data worker looks: one line naming the dataset, not retried.
  const unknown = await failureOf(lockCorpus({ ...noFaq, home: controlHome }, { locked }));
  expect(unknown).toMatchObject({ type: 'DatasetUnavailable', nonRetryable: true });
  expect(unknown.message).toMatch(/^no dataset "notes" is registered under /);
  expect(unknown.message).not.toContain('\n');
});

test('a control worker with the dataset records its snapshot; the data worker refuses a different one (CorpusChanged)', async () => {
  const locked = (await createLockConfigActivities(dataHome).lockConfig({ candidate: { ...defaultCandidate(ID), dataset: 'notes' }, requestedBy: 'ana' })) as LockedConfig;
  expect(locked.corpus_snapshot).toBe(snapshotOf(DOCS));
  expect((await lockCorpus({ ...noFaq, home: dataHome }, { locked })).snapshot).toBe(locked.corpus_snapshot);

  const stale = { ...locked, corpus_snapshot: 'f'.repeat(64) };
  const changed = await failureOf(lockCorpus({ ...noFaq, home: dataHome }, { locked: stale }));
  expect(changed).toMatchObject({ type: 'CorpusChanged', nonRetryable: true });
  expect(changed.message).toBe(`dataset notes changed since the bakeoff locked it: registered snapshot ${snapshotOf(DOCS).slice(0, 16)}…, locked ${'f'.repeat(16)}… (config ${locked.config_hash.slice(0, 16)}…); lock a new bakeoff on the new snapshot`);
});

test('a registered file rewritten after registration is refused at the lock, in one line', async () => {
  const locked = (await createLockConfigActivities(controlHome).lockConfig({ candidate: { ...defaultCandidate(ID), dataset: 'notes' }, requestedBy: 'ana' })) as LockedConfig;
  const original = fs.readFileSync(file, 'utf8');
  try {
    fs.writeFileSync(file, original.replace('hums at 90', 'hums loudly at 90'));
    const failure = await failureOf(lockCorpus({ ...noFaq, home: dataHome }, { locked }));
    expect(failure).toMatchObject({ type: 'DatasetUnavailable', nonRetryable: true });
    expect(failure.message).toMatch(/^dataset notes: the corpus changed since registration \(snapshot sha256 [0-9a-f]{64}, 23 documents; registered [0-9a-f]{64}, 23\); check it with: bakeoff dataset verify notes$/);
  } finally {
    fs.writeFileSync(file, original);
  }
});

test('the bundled FAQ is fingerprinted from the documents the data worker loaded', async () => {
  const docs = DOCS.map((d) => ({ doc_id: d.id, title: d.title, source: 'perl-doc:x', text: d.text }));
  const faq = { dir: tmp, manifest: {} as Dataset['manifest'], docs, cases: [] } satisfies Dataset;
  const locked = (await createLockConfigActivities(controlHome).lockConfig({ candidate: defaultCandidate(ID), requestedBy: 'ana' })) as LockedConfig;
  expect(locked.corpus_snapshot).toBeUndefined();
  expect(await lockCorpus({ dataset: async () => faq, home: controlHome }, { locked })).toEqual({ dataset: 'faq', snapshot: snapshotOf(DOCS), documents: DOCS.length });
});
