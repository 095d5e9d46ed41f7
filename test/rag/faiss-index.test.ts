// Real FAISS (the faiss-node addon built by scripts/provision/faiss.sh against Debian's libfaiss).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadFaiss } from '../../src/rag/faiss-binding';
import { defaultNlist, FAISS_FILES, FaissIndex, FaissIndexCorruptError, FaissIndexError, overlapAtK } from '../../src/rag/faiss-index';
import { runNprobeSweep } from '../../src/rag/nprobe-sweep';
import { ClusteredVectors } from '../support/clustered-vectors';

const DIM = 32;
const N = 6000;
const NLIST = 64;
const gen = new ClusteredVectors({ dim: DIM, clusters: 150, seed: 7 });
const vectors = gen.sample(N, 1.0, 8);
const queries = gen.sample(200, 1.0, 9);
const ids = Array.from({ length: N }, (_, i) => `doc-${i % 97}:chunk-${i}`);

/** Exact top-k by inner product, computed in plain JS (float64) as an independent check on FAISS. */
function bruteForceTopK(query: Float32Array, k: number): number[] {
  const scored: [number, number][] = [];
  for (let i = 0; i < N; i++) {
    let dot = 0;
    for (let j = 0; j < DIM; j++) dot += query[j] * vectors[i * DIM + j];
    scored.push([dot, i]);
  }
  scored.sort((a, b) => b[0] - a[0]);
  return scored.slice(0, k).map(([, i]) => i);
}

const row = (m: Float32Array, i: number) => m.subarray(i * DIM, (i + 1) * DIM);

let flat: FaissIndex;
let ivf: FaissIndex;
let tmp: string;

beforeAll(() => {
  flat = FaissIndex.build(vectors, ids, { kind: 'flat' });
  ivf = FaissIndex.build(vectors, ids, { kind: 'ivf', nlist: NLIST });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-index-test-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('flat index (truth)', () => {
  test('finds the exact nearest neighbours and maps labels to chunk ids', () => {
    for (let q = 0; q < 20; q++) {
      const hits = flat.search(row(queries, q), 10)[0];
      expect(hits.map((h) => h.label)).toEqual(bruteForceTopK(row(queries, q), 10));
      for (const h of hits) expect(h.chunkId).toBe(ids[h.label]);
      for (let j = 1; j < hits.length; j++) expect(hits[j - 1].score).toBeGreaterThanOrEqual(hits[j].score);
    }
  });

  test('a stored vector is its own nearest neighbour with cosine 1', () => {
    const [hit] = flat.search(row(vectors, 1234), 1)[0];
    expect(hit.chunkId).toBe(ids[1234]);
    expect(hit.score).toBeCloseTo(1, 5);
  });

  test('k larger than ntotal is clamped instead of failing', () => {
    const small = FaissIndex.build(vectors.subarray(0, 5 * DIM), ids.slice(0, 5), { kind: 'flat' });
    const hits = small.search(row(queries, 0), 10);
    expect(hits[0]).toHaveLength(5);
    expect(new Set(hits[0].map((h) => h.chunkId))).toEqual(new Set(ids.slice(0, 5)));
    expect(FaissIndex.create({ kind: 'flat', dim: DIM }).search(row(queries, 0), 10)).toEqual([[]]);
  });
});

describe('ivf index (serving)', () => {
  test('recall against flat rises with nprobe, and the sweep picks the smallest nprobe meeting 0.95', () => {
    ivf.setNprobe(3);
    const sweep = runNprobeSweep(flat, ivf, queries, { nprobes: [1, 4, 16, NLIST, 4 * NLIST], k: 10, warmupQueries: 5 });
    expect(ivf.nprobe).toBe(3); // restored
    const byNprobe = new Map(sweep.points.map((p) => [p.nprobe, p.overlapAtK]));
    expect(sweep.skipped).toEqual([4 * NLIST]);
    expect(byNprobe.get(1)!).toBeLessThan(0.9); // clustered data: one list misses neighbours in adjacent cells
    expect(byNprobe.get(16)!).toBeGreaterThan(byNprobe.get(1)!);
    expect(byNprobe.get(4)!).toBeGreaterThan(byNprobe.get(1)!);
    expect(byNprobe.get(NLIST)!).toBeGreaterThanOrEqual(0.999); // probing every list is exhaustive
    const firstMeeting = sweep.points.find((p) => p.overlapAtK >= 0.95)!;
    expect(sweep.chosen?.nprobe).toBe(firstMeeting.nprobe);
    for (const p of sweep.points) {
      expect(p.p95Ms).toBeGreaterThan(0);
      expect(p.p95Ms).toBeGreaterThanOrEqual(p.p50Ms);
    }
    expect(JSON.parse(JSON.stringify(sweep))).toEqual(sweep);
  });

  test('defaults to ~48 vectors per list (n/48) above ~2.3k vectors, √n below, and nprobe = √nlist', () => {
    const byDefault = FaissIndex.build(vectors, ids, { kind: 'ivf' });
    expect(byDefault.nlist).toBe(Math.round(N / 48));
    expect(byDefault.nprobe).toBe(Math.round(Math.sqrt(Math.round(N / 48))));
    expect(defaultNlist(100_000)).toBe(2083);
    expect(defaultNlist(1_000)).toBe(25); // √1000 = 32 lists would get < 39 training points each
    expect(defaultNlist(2_000)).toBe(45);
    expect(defaultNlist(10)).toBe(1);
    expect(byDefault.ntotal).toBe(N);
  });

  test('setNprobe changes what a search returns', () => {
    const truth = flat.searchLabels(queries, 10).labels;
    ivf.setNprobe(1);
    const one = ivf.searchLabels(queries, 10).labels;
    ivf.setNprobe(NLIST);
    const all = ivf.searchLabels(queries, 10).labels;
    expect(one).not.toEqual(all);
    expect(overlapAtK(all, truth, 10)).toBeGreaterThan(overlapAtK(one, truth, 10));
    expect(() => ivf.setNprobe(NLIST + 1)).toThrow(/nprobe must be an integer in \[1, 64\]/);
    expect(() => flat.setNprobe(2)).toThrow(/applies to an ivf index/);
  });

  test('never returns FAISS padding when the probed lists hold fewer than k vectors', () => {
    ivf.setNprobe(1);
    const { labels } = ivf.searchLabels(queries, 500);
    for (const r of labels) {
      expect(r.length).toBeLessThanOrEqual(500);
      expect(r.every((l) => l >= 0 && l < N)).toBe(true);
    }
    expect(labels.some((r) => r.length < 500)).toBe(true);
  });

  test('adding to an untrained ivf index is refused with an error, not a process abort', () => {
    const untrained = FaissIndex.create({ kind: 'ivf', dim: DIM, nlist: 8 });
    expect(untrained.isTrained).toBe(false);
    expect(() => untrained.add(vectors.subarray(0, 10 * DIM), ids.slice(0, 10))).toThrow(/not trained: call train\(\)/);
    // The raw binding too: stock faiss-node 0.5.1 lets the C++ exception abort the process here.
    const faiss = loadFaiss();
    const raw = faiss.fromFactory(DIM, 'IVF8,Flat', faiss.metricInnerProduct);
    expect(() => raw.add(vectors.subarray(0, 10 * DIM))).toThrow(/is_trained/);
    untrained.train(vectors.subarray(0, 8 * 39 * DIM));
    untrained.add(vectors.subarray(0, 10 * DIM), ids.slice(0, 10));
    expect(untrained.ntotal).toBe(10);
  });
});

describe('save and load', () => {
  test('an ivf index round-trips with its nprobe, chunk ids and identical results', () => {
    ivf.setNprobe(8);
    const dir = path.join(tmp, 'ivf');
    ivf.save(dir);
    const loaded = FaissIndex.load(dir);
    expect(loaded.kind).toBe('ivf');
    expect(loaded.nlist).toBe(NLIST);
    expect(loaded.nprobe).toBe(8);
    expect(loaded.ntotal).toBe(N);
    expect(loaded.search(queries, 10)).toEqual(ivf.search(queries, 10));
    expect(fs.readFileSync(path.join(dir, FAISS_FILES.sums), 'utf8')).toMatch(/^[0-9a-f]{64} {2}index\.faiss$/m);
  });

  test('a flat index round-trips', () => {
    const dir = path.join(tmp, 'flat');
    flat.save(dir);
    const loaded = FaissIndex.load(dir);
    expect(loaded.kind).toBe('flat');
    expect(loaded.nprobe).toBeNull();
    expect(loaded.search(queries.subarray(0, 10 * DIM), 10)).toEqual(flat.search(queries.subarray(0, 10 * DIM), 10));
  });

  test('a corrupted index file is rejected with the file named', () => {
    const dir = path.join(tmp, 'corrupt');
    ivf.save(dir);
    const file = path.join(dir, FAISS_FILES.index);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(file, bytes);
    expect(() => FaissIndex.load(dir)).toThrow(FaissIndexCorruptError);
    expect(() => FaissIndex.load(dir)).toThrow(/index\.faiss is corrupted: sha256 [0-9a-f]{64} does not match/);
  });

  test('a tampered chunk-id table, a missing checksum file and a missing directory are rejected', () => {
    const dir = path.join(tmp, 'tampered');
    flat.save(dir);
    const idsFile = path.join(dir, FAISS_FILES.chunkIds);
    fs.writeFileSync(idsFile, fs.readFileSync(idsFile, 'utf8').replace('chunk-0"', 'chunk-X"'));
    expect(() => FaissIndex.load(dir)).toThrow(/chunk-ids\.json is corrupted/);
    fs.rmSync(path.join(dir, FAISS_FILES.sums));
    expect(() => FaissIndex.load(dir)).toThrow(/SHA256SUMS is missing/);
    expect(() => FaissIndex.load(path.join(tmp, 'nowhere'))).toThrow(FaissIndexCorruptError);
  });
});

describe('input validation', () => {
  test('non-unit vectors, duplicate ids and mismatched shapes are refused with readable errors', () => {
    const scaled = vectors.slice(0, 4 * DIM).map((x) => x * 2);
    expect(() => FaissIndex.build(scaled, ids.slice(0, 4), { kind: 'flat' })).toThrow(/vector 0 has L2 norm [\d.]+; inner-product search needs unit vectors/);
    expect(() => FaissIndex.build(vectors.subarray(0, 2 * DIM), ['a', 'a'], { kind: 'flat' })).toThrow(/chunk id "a" appears more than once/);
    expect(() => FaissIndex.build(vectors.subarray(0, 3 * DIM), ['a', 'b'], { kind: 'flat' })).toThrow(FaissIndexError);
    expect(() => FaissIndex.build(vectors, ids, { kind: 'ivf', nlist: 0 })).toThrow(/invalid FAISS build options: nlist/);
    expect(() => flat.search(new Float32Array(DIM + 1), 3)).toThrow(/queries/);
    expect(() => flat.search(row(queries, 0), 0)).toThrow(/k must be a positive integer/);
  });

  test('overlapAtK is |I_ivf ∩ I_flat| / (nq·k)', () => {
    expect(overlapAtK([[1, 2, 3], [4, 5, 6]], [[1, 2, 9], [6, 5, 4]], 3)).toBeCloseTo(5 / 6, 12);
    expect(overlapAtK([['a', 'b']], [['b', 'c']], 1)).toBe(0);
    expect(() => overlapAtK([[1]], [[1], [2]], 1)).toThrow(/same queries/);
  });
});
