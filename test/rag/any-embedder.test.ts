/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Any embedder (issue 16 item 6): a model directory that is not one of the provisioned two, laid out
// as sentence-transformers exports it (no manifest.json; pooling in 1_Pooling/config.json, input limit
// in sentence_bert_config.json). Built here by copying a provisioned model under a new name and
// rewriting its description; the real ONNX weights and tokenizer run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { modelsDir } from '../../src/platform/paths';
import { Embedder } from '../../src/rag/embed';
import { readModelDescriptor } from '../../src/rag/model-descriptor';

let root: string;
const TEXTS = ['How do I sort a list of numbers in Python?', 'perldoc -f sort explains the comparison block', 'The recipe needs two eggs.'];

/** A copy of a provisioned model named `name`, described the sentence-transformers way instead of by manifest.json. */
function sentenceTransformersCopy(from: string, name: string, pooling: 'mean' | 'cls', maxSeq: number): string {
  const dir = path.join(root, name);
  fs.cpSync(path.join(modelsDir, from), dir, { recursive: true });
  fs.rmSync(path.join(dir, 'manifest.json'));
  fs.mkdirSync(path.join(dir, '1_Pooling'));
  fs.writeFileSync(
    path.join(dir, '1_Pooling', 'config.json'),
    JSON.stringify({ word_embedding_dimension: 384, pooling_mode_cls_token: pooling === 'cls', pooling_mode_mean_tokens: pooling === 'mean', pooling_mode_max_tokens: false }),
  );
  fs.writeFileSync(path.join(dir, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: maxSeq, do_lower_case: false }));
  return dir;
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-models-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('a renamed MiniLM in sentence-transformers layout: mean pooling, 384 dims, its own 256-token limit, the same vectors', async () => {
  sentenceTransformersCopy('all-MiniLM-L6-v2', 'team-minilm', 'mean', 256);
  const mine = await Embedder.load('team-minilm', { modelsDir: root });
  const provisioned = await Embedder.load('all-MiniLM-L6-v2');
  expect(mine).toMatchObject({ name: 'team-minilm', pooling: 'mean', dims: 384, maxTokens: 256 });
  expect(mine.tokenizerHash).toBe(provisioned.tokenizerHash);
  expect(mine.modelHash).toBe(provisioned.modelHash);
  const a = await mine.embed(TEXTS);
  const b = await provisioned.embed(TEXTS);
  for (let i = 0; i < TEXTS.length; i++) expect(Array.from(a[i])).toEqual(Array.from(b[i]));
  // The 256-token limit is the one enforced: a longer text is refused when truncation is off.
  const long = 'word '.repeat(300);
  await expect(mine.embed([long], { truncate: false })).rejects.toThrow(/over the model's limit of 256/);
  expect((await provisioned.embed([long], { truncate: false }))[0]).toHaveLength(384);
});

test('a renamed bge in sentence-transformers layout: CLS pooling read from 1_Pooling, the same vectors as the provisioned one', async () => {
  sentenceTransformersCopy('bge-small-en-v1.5', 'team-bge', 'cls', 512);
  const mine = await Embedder.load('team-bge', { modelsDir: root });
  const provisioned = await Embedder.load('bge-small-en-v1.5');
  expect(mine).toMatchObject({ pooling: 'cls', dims: 384, maxTokens: 512 });
  const [a] = await mine.embed(TEXTS.slice(0, 1));
  const [b] = await provisioned.embed(TEXTS.slice(0, 1));
  expect(Array.from(a)).toEqual(Array.from(b));
  // And the pooling matters: mean pooling over the same weights gives another vector.
  const meanDir = sentenceTransformersCopy('bge-small-en-v1.5', 'team-bge-mean', 'mean', 512);
  expect(readModelDescriptor(meanDir).pooling).toBe('mean');
  const [c] = await (await Embedder.load('team-bge-mean', { modelsDir: root })).embed(TEXTS.slice(0, 1));
  expect(Array.from(c)).not.toEqual(Array.from(b));
});

describe('a model directory that does not describe itself: one line naming the file and the field', () => {
  const broken = (name: string, edit: (dir: string) => void): string => {
    const dir = sentenceTransformersCopy('all-MiniLM-L6-v2', name, 'mean', 256);
    edit(dir);
    return dir;
  };
  const loadError = async (name: string): Promise<string> => {
    const err = await Embedder.load(name, { modelsDir: root }).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).not.toContain('\n');
    return err!.message;
  };

  test('no 1_Pooling/config.json and no manifest', async () => {
    const dir = broken('no-pooling', (d) => fs.rmSync(path.join(d, '1_Pooling'), { recursive: true }));
    expect(await loadError('no-pooling')).toBe(
      `embedding model 'no-pooling': ${path.join(dir, '1_Pooling', 'config.json')}: missing, and no manifest.json names the pooling: add it (sentence-transformers layout) with pooling_mode_mean_tokens or pooling_mode_cls_token true`,
    );
  });

  test('an unsupported pooling mode', async () => {
    broken('max-pooling', (d) => fs.writeFileSync(path.join(d, '1_Pooling', 'config.json'), JSON.stringify({ pooling_mode_max_tokens: true })));
    expect(await loadError('max-pooling')).toMatch(/1_Pooling\/config\.json: field pooling_mode_max_tokens: not supported/);
  });

  test('config.json without hidden_size', async () => {
    broken('no-hidden', (d) => {
      const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
      delete cfg.hidden_size;
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
    });
    expect(await loadError('no-hidden')).toMatch(/no-hidden\/config\.json: field hidden_size: missing \(the model's embedding dimension\)$/);
  });

  test('dimensions that disagree between files', async () => {
    broken('dims-disagree', (d) => fs.writeFileSync(path.join(d, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: 768, pooling_mode_mean_tokens: true })));
    expect(await loadError('dims-disagree')).toMatch(/1_Pooling\/config\.json: field word_embedding_dimension: 768, but config\.json says 384 dimensions$/);
  });

  test('no tokenizer_config.json', async () => {
    const dir = broken('no-tokcfg', (d) => fs.rmSync(path.join(d, 'tokenizer_config.json')));
    expect(await loadError('no-tokcfg')).toMatch(new RegExp(`not found: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} lacks tokenizer_config\\.json\\.`));
  });

  test('a config file that is not JSON', async () => {
    broken('bad-json', (d) => fs.writeFileSync(path.join(d, 'sentence_bert_config.json'), '{"max_seq_length": 256,'));
    expect(await loadError('bad-json')).toMatch(/bad-json\/sentence_bert_config\.json: not valid JSON/);
  });
});

test('the provisioned models keep their manifest values', () => {
  for (const [name, pooling] of [['all-MiniLM-L6-v2', 'mean'], ['bge-small-en-v1.5', 'cls']] as const) {
    expect(readModelDescriptor(path.join(modelsDir, name))).toMatchObject({ pooling, dims: 384, maxTokens: 512, sources: { pooling: 'manifest.json' } });
  }
});
