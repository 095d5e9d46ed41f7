// Gates a case set cannot measure (pure): a registered dataset without gold answers reports
// caseSupport.unsupported = f1/precision; those gates are n/a (applicable: false), neither pass nor
// fail the bakeoff, and leave the Holm family of the other gates. Reports without caseSupport (the
// FAQ, every recorded history) are judged exactly as before. Plus the locked-config rule: `dataset`
// absent keeps every old config hash, and corpus_snapshot is not hashed.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EvalReport } from '../../src/activities/types';
import { corpusSnapshotMismatch, lockCorpusSnapshot } from '../../src/data/locked-corpus';
import { seededRandom } from '../../src/platform/seeded-random';
import { canonicalJson, defaultCandidate, lockConfig, parseLockedConfig } from '../../src/rag/config';
import { describeGate, judgeOffline, overallVerdict } from '../../src/workflows/gates';
import { OfflineThresholdsSchema } from '../../src/workflows/messages';

const T = OfflineThresholdsSchema.parse({});
const NO_ANSWERS = [
  { metric: 'f1', reason: 'only 0 of 60 cases have a gold answer' },
  { metric: 'precision', reason: 'only 0 of 60 cases have a gold answer' },
];

function side(s: 'candidate' | 'baseline', hit: number[], unsupported: typeof NO_ANSWERS | null): EvalReport {
  const mean = hit.reduce((a, x) => a + x, 0) / hit.length;
  const zeros = hit.map(() => 0);
  return {
    side: s, table: `t_${s}`, cases: hit.length, k: 10,
    metrics: { hit_rate: mean, recall: mean, mrr: mean, ndcg: mean, f1: 0, precision: 0 },
    latencyMs: { encode: { p50: 1, p95: 2 }, search: { p50: 1, p95: 2 }, rerank: { p50: 1, p95: 2 }, total: { p50: 10, p95: 20 } },
    manifest: null,
    perCase: { caseIdsSha256: 'cases', hit_rate: hit, f1: zeros, precision: zeros },
    ...(unsupported ? { caseSupport: { caseSet: 'syn:test', graded: true, unsupported } } : {}),
  };
}

// 60 cases, the candidate hits 10 more of them (+16.7 pts is above the plausible band: use +10).
const rand = seededRandom(5);
const hitB = Array.from({ length: 60 }, () => (rand() < 0.4 ? 1 : 0));
const hitC = hitB.map((h, i) => (h === 0 && i % 4 === 0 ? 1 : h));

test('F1 and precision of a case set without gold answers are n/a and do not decide the verdict', () => {
  const gates = judgeOffline(side('candidate', hitC, NO_ANSWERS), side('baseline', hitB, NO_ANSWERS), T);
  expect(gates.map((g) => g.name)).toEqual(['hit_rate', 'f1', 'precision', 'p95_total_ms']);
  const na = gates.filter((g) => g.applicable === false);
  expect(na.map((g) => g.name)).toEqual(['f1', 'precision']);
  for (const g of na) {
    expect(g).toMatchObject({ value: null, baseline: null, threshold: null, source: 'offline' });
    expect(g.reason).toBe(`n/a: the case set has no gold answers for ${g.name} (only 0 of 60 cases have a gold answer); this gate neither passes nor fails the bakeoff`);
    expect(describeGate(g)).toMatch(new RegExp(`^${g.name} n/a: `));
  }
  // Both sides score F1 = 0 on every case: judged as a metric, a 0 vs 0 would not be n/a.
  const applicable = gates.filter((g) => g.applicable !== false);
  expect(overallVerdict(gates)).toBe(overallVerdict(applicable));
  // Only hit rate is tested, so its interval is not Holm-corrected across 3 gates.
  expect(gates[0].reason).not.toContain('Holm across');
});

test('the same numbers without caseSupport (the FAQ, recorded histories) keep all three gates applicable', () => {
  const gates = judgeOffline(side('candidate', hitC, null), side('baseline', hitB, null), T);
  expect(gates.every((g) => g.applicable === undefined)).toBe(true);
  expect(gates[0].reason).toContain('Holm across 3 gates');
});

test('overallVerdict ignores n/a gates; only n/a gates is inconclusive (nothing was judged)', () => {
  const g = (verdict: 'pass' | 'fail' | 'inconclusive', applicable?: false) => ({ name: 'x', source: 'offline' as const, value: 1, baseline: 1, threshold: 1, direction: 'higher-is-better' as const, verdict, reason: '', ...(applicable === false ? { applicable } : {}) });
  expect(overallVerdict([g('pass'), g('inconclusive', false)])).toBe('pass');
  expect(overallVerdict([g('fail'), g('inconclusive', false)])).toBe('fail');
  expect(overallVerdict([g('inconclusive', false)])).toBe('inconclusive');
});

test('locked config: dataset absent keeps the old hash, a dataset changes it, corpus_snapshot is not hashed', () => {
  const id = { embedder: 'all-MiniLM-L6-v2', tokenizer: 'all-MiniLM-L6-v2', tokenizer_hash: 'ab12cd34ef56ab12' };
  const faq = lockConfig(defaultCandidate(id));
  // The hash as computed before `dataset` existed: sha256 of the canonical JSON of the old semantic fields.
  const OLD_FIELDS = ['chunk_size', 'overlap_ratio', 'jaccard_threshold', 'prefix_policy', 'embedder', 'tokenizer', 'tokenizer_hash', 'chunk_version', 'lexical_ranker', 'bm25_k1', 'bm25_b'] as const;
  const old = Object.fromEntries(OLD_FIELDS.map((f) => [f, faq[f]]));
  expect(faq.config_hash).toBe(createHash('sha256').update(canonicalJson(old)).digest('hex'));
  const mine = lockConfig({ ...defaultCandidate(id), dataset: 'mydocs' });
  expect(mine.config_hash).not.toBe(faq.config_hash);
  expect(mine.shadow_table).not.toBe(faq.shadow_table);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-lockcorpus-'));
  try {
    // The FAQ needs no registry; a registered dataset that does not exist is one line.
    expect(lockCorpusSnapshot(faq, home)).toEqual(faq);
    expect(() => lockCorpusSnapshot(mine, home)).toThrow(/mydocs/);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
  const withSnapshot = parseLockedConfig({ ...mine, corpus_snapshot: 'a'.repeat(64) });
  expect(withSnapshot.config_hash).toBe(mine.config_hash);
  expect(corpusSnapshotMismatch(withSnapshot, 'a'.repeat(64))).toBeNull();
  expect(corpusSnapshotMismatch(withSnapshot, 'b'.repeat(64))).toBe(
    `dataset mydocs changed since the bakeoff locked it: registered snapshot ${'b'.repeat(16)}…, locked ${'a'.repeat(16)}… (config ${mine.config_hash.slice(0, 16)}…); lock a new bakeoff on the new snapshot`,
  );
  // A config locked before corpus_snapshot existed has none: nothing to compare.
  expect(corpusSnapshotMismatch(mine, 'b'.repeat(64))).toBeNull();
});
