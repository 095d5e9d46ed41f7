/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// The extractive reader: SQuAD token scores worked out by hand, span candidates, and the reader with
// the real MiniLM model on real FAQ answers among real distractor documents.
import type { Dataset } from '../../src/data/dataset';
import { candidateSpans, normalizeAnswer, readAnswer, tokenF1 } from '../../src/rag/reader';
import { faqSubset, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

test('SQuAD normalisation drops case, punctuation and articles', () => {
  expect(normalizeAnswer('The  Cat, sat on A mat!')).toBe('cat sat on mat');
  expect(normalizeAnswer('use sort()')).toBe('use sort');
});

test('token F1 / precision / recall against hand-computed values', () => {
  expect(tokenF1('the cat sat on the mat', 'a cat sat on a mat')).toEqual({ f1: 1, precision: 1, recall: 1 });
  // pred {cat, sat}, gold {cat, sat, on, mat}: P = 1, R = 0.5, F1 = 2/3
  const half = tokenF1('cat sat', 'cat sat on mat');
  expect(half.precision).toBe(1);
  expect(half.recall).toBe(0.5);
  expect(half.f1).toBeCloseTo(2 / 3, 12);
  // Multisets: "cat cat dog" vs "cat dog dog": common = 1 cat + 1 dog = 2; P = R = 2/3
  expect(tokenF1('cat cat dog', 'cat dog dog').f1).toBeCloseTo(2 / 3, 12);
  expect(tokenF1('bird', 'cat').f1).toBe(0);
  expect(tokenF1('', 'cat')).toEqual({ f1: 0, precision: 0, recall: 0 });
});

test('span candidates: sentences, short ones extended, no contextual prefix', () => {
  const spans = candidateSpans([{ chunk_id: 'c', doc_id: 'd', text: 'Document: perlfaq4\nShort one. This second sentence is long enough to stand on its own as an answer span here.\n\nAnother paragraph follows with its own sentence.' }]);
  expect(spans.map((s) => s.text)).toEqual([
    'Short one. This second sentence is long enough to stand on its own as an answer span here.',
    'This second sentence is long enough to stand on its own as an answer span here.',
    'Another paragraph follows with its own sentence.',
  ]);
});

test('lexical reading picks the sentence that answers the question', async () => {
  const passages = [
    { chunk_id: 'c1', doc_id: 'perl', text: 'Perl is a language. It was written by Larry Wall and a cast of thousands of volunteers around the world.' },
    { chunk_id: 'c2', doc_id: 'hash', text: 'To sort a hash by value, use sort with a block that compares the values of the two keys. Other unrelated text follows here for a while.' },
  ];
  const a = await readAnswer('How do I sort a hash by value?', passages, null);
  expect(a.doc_id).toBe('hash');
  expect(a.passageRank).toBe(2);
  expect(a.answer).toMatch(/^To sort a hash by value/);
  expect(await readAnswer('anything', [], null)).toMatchObject({ answer: '', doc_id: null });
});

describe('with the real model on FAQ answers', () => {
  let dataset: Dataset;
  let embedder: MemoEmbedder;
  beforeAll(async () => {
    dataset = await faqSubset(16);
    embedder = new MemoEmbedder(await realEmbedder());
  });

  test('finds the gold answer inside the gold document among distractors', async () => {
    const docs = new Map(dataset.docs.map((d) => [d.doc_id, d]));
    const distractors = dataset.docs.filter((d) => !dataset.cases.some((c) => c.gold_doc_id === d.doc_id));
    let f1 = 0;
    let usedGold = 0;
    let lexicalF1 = 0;
    for (const [i, c] of dataset.cases.entries()) {
      const gold = docs.get(c.gold_doc_id)!;
      const [d1, d2] = [distractors[(2 * i) % distractors.length], distractors[(2 * i + 1) % distractors.length]];
      const passages = [d1, gold, d2].map((d) => ({ chunk_id: d.doc_id, doc_id: d.doc_id, text: d.text.slice(0, 2500) }));
      const q = await embedder.embedOne(c.question);
      const a = await readAnswer(c.question, passages, { encoder: embedder, queryVector: q });
      f1 += tokenF1(a.answer, c.gold_answer).f1;
      usedGold += a.doc_id === c.gold_doc_id ? 1 : 0;
      lexicalF1 += tokenF1((await readAnswer(c.question, passages, null)).answer, c.gold_answer).f1;
    }
    const n = dataset.cases.length;
    process.stderr.write(`[reader] ${n} cases, gold doc 2nd of 3: F1 ${(f1 / n).toFixed(3)} (lexical only ${(lexicalF1 / n).toFixed(3)}), reader_used_gold ${(usedGold / n).toFixed(3)}\n`);
    expect(usedGold / n).toBeGreaterThanOrEqual(0.6);
    expect(f1 / n).toBeGreaterThan(0.3);
  });
});
