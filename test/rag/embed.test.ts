/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Real model loading: needs `bash scripts/provision/model.sh` (the lead's setup runs it before tests).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { modelsDir } from '../../src/platform/paths';
import { cosine, Embedder, l2Norm, ModelNotFoundError } from '../../src/rag/embed';

const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<typeof import('@xenova/transformers')>;
const provisioned = (name: string, file: string): boolean => fs.existsSync(path.join(modelsDir, name, 'onnx', file));

const RELATED_A = 'How do I sort a list of numbers in Python?';
const RELATED_B = 'What is the way to order an array of integers in Python?';
const UNRELATED = 'The recipe needs two eggs, flour and a pinch of salt.';

describe('Embedder (all-MiniLM-L6-v2, quantized)', () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await Embedder.load();
  });

  test('embeds to 384 unit-norm dims, related sentences closer than unrelated', async () => {
    const [a, b, c] = await embedder.embed([RELATED_A, RELATED_B, UNRELATED]);
    expect(embedder.dims).toBe(384);
    for (const v of [a, b, c]) {
      expect(v).toHaveLength(384);
      expect(Math.abs(l2Norm(v) - 1)).toBeLessThan(1e-5);
    }
    const related = cosine(a, b);
    expect(related).toBeGreaterThan(cosine(a, c) + 0.3);
    expect(related).toBeGreaterThan(cosine(b, c) + 0.3);
  });

  test('matches the transformers.js feature-extraction pipeline (mean pooling, normalised)', async () => {
    const { pipeline } = await importEsm('@xenova/transformers');
    const extract = await pipeline('feature-extraction', 'all-MiniLM-L6-v2', { quantized: true, local_files_only: true });
    const texts = [RELATED_A, UNRELATED];
    const reference = await extract(texts, { pooling: 'mean', normalize: true });
    const ours = await embedder.embed(texts);
    texts.forEach((_, i) => {
      const ref = (reference.data as Float32Array).subarray(i * 384, (i + 1) * 384);
      expect(cosine(ours[i], ref)).toBeGreaterThan(0.99999);
    });
  });

  test('is deterministic: the same texts and batching give bit-identical vectors', async () => {
    const texts = [RELATED_A, UNRELATED, RELATED_B];
    const first = await embedder.embed(texts);
    const again = await embedder.embed(texts);
    texts.forEach((_, i) => expect(Array.from(again[i])).toEqual(Array.from(first[i])));
  });

  test('returns vectors in input order although it batches by length', async () => {
    const texts = [UNRELATED, 'x '.repeat(200), RELATED_A, 'short', RELATED_B];
    const alone = await Promise.all(texts.map(async (t) => (await embedder.embed([t]))[0]));
    // batchSize 1: no batch effects, so each vector must equal its text embedded alone, exactly.
    const one = await embedder.embed(texts, { batchSize: 1 });
    texts.forEach((_, i) => expect(Array.from(one[i])).toEqual(Array.from(alone[i])));
    // batchSize 2: the quantized model lets neighbours nudge a vector, but never into another text's place.
    const two = await embedder.embed(texts, { batchSize: 2 });
    texts.forEach((_, i) => {
      const sims = alone.map((v) => cosine(two[i], v));
      expect(sims[i]).toBeGreaterThan(0.95);
      expect(Math.max(...sims)).toBe(sims[i]);
    });
  });

  test('quantized vectors depend on batch neighbours, within 5e-2 cosine', async () => {
    expect(embedder.batchInvariant).toBe(false);
    const long = 'Padding changes the activations the quantizer scales by. '.repeat(30);
    const [alone] = await embedder.embed([RELATED_A]);
    const [, withLong] = await embedder.embed([long, RELATED_A], { batchSize: 2 });
    const drift = 1 - cosine(alone, withLong);
    expect(drift).toBeGreaterThan(0);
    expect(drift).toBeLessThan(5e-2);
  });

  test('tokenizer view: countTokens agrees with encode, round-trips, is identified by hash', () => {
    const text = 'Token-accurate chunking counts WordPiece tokens: unbelievably, tokenisation splits words.';
    const ids = embedder.encode(text);
    expect(embedder.countTokens(text)).toBe(ids.length);
    expect(ids.length).toBeGreaterThan(text.split(' ').length); // WordPiece splits rare words
    expect(embedder.embeddingTokens(text)).toBe(ids.length + 2);
    expect(embedder.encode(embedder.decode(ids))).toEqual(ids);
    const tokenizerJson = path.join(modelsDir, 'all-MiniLM-L6-v2', 'tokenizer.json');
    const expected = createHash('sha256').update(fs.readFileSync(tokenizerJson)).digest('hex');
    expect(embedder.tokenizerHash).toBe(expected);
    expect(embedder.tokenizerName).toBe('all-MiniLM-L6-v2');
    expect(embedder.modelId).toMatch(/^all-MiniLM-L6-v2\/model_quantized\.onnx@[0-9a-f]{12}$/);
  });

  test('truncates past 512 model tokens, or refuses when asked to', async () => {
    const huge = 'word '.repeat(600);
    expect(embedder.embeddingTokens(huge)).toBeGreaterThan(512);
    const batch = embedder.tokenizeBatch([huge]);
    expect(batch.seqLen).toBe(512);
    const [v] = await embedder.embed([huge]);
    expect(Math.abs(l2Norm(v) - 1)).toBeLessThan(1e-5);
    await expect(embedder.embed([huge], { truncate: false })).rejects.toThrow(/602 embedding tokens, over the model's limit of 512/);
  });

  test('rawForward runs the session on a pre-tokenised batch', async () => {
    const batch = embedder.tokenizeBatch([RELATED_A, UNRELATED]);
    const hidden = await embedder.rawForward(batch);
    expect(hidden.length).toBe(2 * batch.seqLen * 384);
  });

  test('rejects bad options with the field named', async () => {
    await expect(embedder.embed([RELATED_A], { batchSize: 0 })).rejects.toThrow(/batchSize/);
  });
});

// bge is provisioned by default but optional (model.sh warns if it could not be had).
(provisioned('bge-small-en-v1.5', 'model_quantized.onnx') ? describe : describe.skip)('Embedder (bge-small-en-v1.5, CLS pooling)', () => {
  test('uses CLS pooling like the reference pipeline, and ranks related above unrelated', async () => {
    const bge = await Embedder.load('bge-small-en-v1.5');
    expect(bge.pooling).toBe('cls');
    const [a, b, c] = await bge.embed([RELATED_A, RELATED_B, UNRELATED]);
    expect(cosine(a, b)).toBeGreaterThan(cosine(a, c) + 0.1);
    const { pipeline } = await importEsm('@xenova/transformers');
    const extract = await pipeline('feature-extraction', 'bge-small-en-v1.5', { quantized: true, local_files_only: true });
    const ref = await extract([RELATED_A], { pooling: 'cls', normalize: true });
    // Same batch (one text alone) as the reference, so the quantizer sees the same activations.
    expect(cosine(await bge.embedOne(RELATED_A), ref.data as Float32Array)).toBeGreaterThan(0.99999);
  });
});

// The fp32 weights come only with `model.sh --fp32` (90 MB more); they are what makes vectors batch-invariant.
(provisioned('all-MiniLM-L6-v2', 'model.onnx') ? describe : describe.skip)('Embedder (all-MiniLM-L6-v2, fp32)', () => {
  test('gives bit-identical vectors whatever the batch, close to the quantized ones', async () => {
    const fp32 = await Embedder.load('all-MiniLM-L6-v2', { quantized: false });
    expect(fp32.batchInvariant).toBe(true);
    expect(fp32.modelId).toMatch(/^all-MiniLM-L6-v2\/model\.onnx@/);
    const long = 'Padding changes the activations the quantizer scales by. '.repeat(30);
    const [alone] = await fp32.embed([RELATED_A]);
    const [, withLong] = await fp32.embed([long, RELATED_A], { batchSize: 2 });
    expect(Array.from(withLong)).toEqual(Array.from(alone));
    const q = await Embedder.load('all-MiniLM-L6-v2');
    expect(cosine(alone, await q.embedOne(RELATED_A))).toBeGreaterThan(0.95);
  });
});

describe('Embedder loading errors', () => {
  test('a missing model names the provisioning command', async () => {
    await expect(Embedder.load('no-such-model')).rejects.toThrow(ModelNotFoundError);
    await expect(Embedder.load('no-such-model')).rejects.toThrow(/run: bash scripts\/provision\/model\.sh/i);
  });

  test('a model dir without the onnx file says which file is missing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-models-'));
    try {
      fs.mkdirSync(path.join(dir, 'half'));
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) fs.writeFileSync(path.join(dir, 'half', f), '{}');
      await expect(Embedder.load('half', { modelsDir: dir })).rejects.toThrow(/lacks onnx\/model_quantized\.onnx/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a name that is not a directory name is refused before touching the disk', async () => {
    await expect(Embedder.load('../etc')).rejects.toThrow(/invalid embedding model name/);
  });
});
