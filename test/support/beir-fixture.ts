// A small synthetic BEIR directory for tests of registered datasets: 12 topics of 5 documents (60),
// 40 queries; a query about a topic has 3 of its documents relevant (grades 2, 1, 1); no gold answers.
// Seeded, so one seed always gives the same bytes (the tests' expectations count on it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededRandom } from '../../src/platform/seeded-random';

const TOPICS = ['glacier', 'volcano', 'orchard', 'harbor', 'telescope', 'violin', 'bakery', 'railway', 'beehive', 'lighthouse', 'vineyard', 'quarry'];
const FILLER = ['morning', 'people', 'often', 'visit', 'during', 'summer', 'local', 'guide', 'stories', 'about', 'history', 'weather'];

export interface BeirFixtureOptions {
  seed: number;
  /** qrels/<split>.tsv for each split, holding queries [from, to). */
  splits: Record<string, [number, number]>;
}

/** Writes corpus.jsonl, queries.jsonl and one qrels file per split under `root`. */
export function writeBeir(root: string, { seed, splits }: BeirFixtureOptions): void {
  const rnd = seededRandom(seed);
  const pick = (xs: string[]) => xs[Math.floor(rnd() * xs.length)];
  const docs = Array.from({ length: 60 }, (_, i) => {
    const topic = TOPICS[i % TOPICS.length];
    const words = Array.from({ length: 30 }, (_, j) => (j % 4 === 0 ? topic : pick(FILLER)));
    return { _id: `doc${i}`, title: `${topic} note ${Math.floor(i / TOPICS.length)}`, text: `The ${topic} ${words.join(' ')}.` };
  });
  const queries = Array.from({ length: 40 }, (_, q) => ({ _id: `q${q}`, text: `what do visitors say about the ${TOPICS[q % TOPICS.length]} ${pick(FILLER)}?` }));
  fs.mkdirSync(path.join(root, 'qrels'), { recursive: true });
  fs.writeFileSync(path.join(root, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  fs.writeFileSync(path.join(root, 'queries.jsonl'), queries.map((q) => JSON.stringify(q)).join('\n') + '\n');
  for (const [split, [from, to]] of Object.entries(splits)) {
    const lines = queries.slice(from, to).flatMap((q, i) => {
      const t = (from + i) % TOPICS.length;
      const start = ((from + i) / TOPICS.length) % 3 | 0;
      return [0, 1, 2].map((k) => `${q._id}\tdoc${t + TOPICS.length * (start + k)}\t${k === 0 ? 2 : 1}`);
    });
    fs.writeFileSync(path.join(root, 'qrels', `${split}.tsv`), ['query-id\tcorpus-id\tscore', ...lines].join('\n') + '\n');
  }
}
