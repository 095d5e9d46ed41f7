import { createHash } from 'node:crypto';
import {
  canonicalJson,
  ConfigValidationError,
  defaultBaseline,
  defaultCandidate,
  lockConfig,
  parseLockedConfig,
  shadowTableFor,
} from '../../src/rag/config';

const ID = { embedder: 'all-MiniLM-L6-v2', tokenizer: 'all-MiniLM-L6-v2', tokenizer_hash: 'ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12' };
const NOW = new Date('2026-01-02T03:04:05.000Z');

function rejection(input: unknown): ConfigValidationError {
  try {
    lockConfig(input, NOW);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    return err as ConfigValidationError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('lockConfig guardrails', () => {
  const base = defaultCandidate(ID);

  test.each([
    [{ chunk_size: 1200 }, 'chunk_size 1200 exceeds the cap of 1000 tokens'],
    [{ chunk_size: 1001 }, 'chunk_size 1001 exceeds the cap of 1000 tokens'],
    [{ overlap_ratio: 0.6 }, 'overlap_ratio 0.6 exceeds the cap of 0.5'],
    [{ overlap_ratio: -0.1 }, 'overlap_ratio -0.1 is below the minimum of 0'],
    [{ jaccard_threshold: 0.3 }, 'jaccard_threshold 0.3 is below the floor of 0.5'],
    [{ jaccard_threshold: 1.2 }, 'jaccard_threshold 1.2 exceeds the maximum of 1'],
    [{ chunk_size: 450.5 }, 'chunk_size 450.5 must be a whole number of tokens'],
    [{ chunk_size: '450' }, 'chunk_size must be a number, got "450"'],
    [{ prefix_policy: 'C' }, 'prefix_policy must be "A"'],
  ])('%j is rejected naming field, value and limit', (patch, message) => {
    const err = rejection({ ...base, ...patch });
    expect(err.message).toContain(message);
    expect(err.issues).toHaveLength(1);
  });

  test('values at the caps are accepted', () => {
    const c = lockConfig({ ...base, chunk_size: 1000, overlap_ratio: 0.5, jaccard_threshold: 0.5 }, NOW);
    expect(c.chunk_size).toBe(1000);
  });

  test('every violation is reported, not just the first', () => {
    const err = rejection({ ...base, chunk_size: 5000, overlap_ratio: 0.9, jaccard_threshold: 0.1 });
    expect(err.issues).toEqual([
      'chunk_size 5000 exceeds the cap of 1000 tokens',
      'overlap_ratio 0.9 exceeds the cap of 0.5',
      'jaccard_threshold 0.1 is below the floor of 0.5 (lower would merge unrelated chunks)',
    ]);
  });

  test('unknown keys are rejected (a typo must not silently fall back to a default)', () => {
    const err = rejection({ ...base, chunk_sise: 300 });
    expect(err.message).toContain('unknown field(s) "chunk_sise"');
  });

  test('missing fields are named', () => {
    const { chunk_size: _omit, ...rest } = base;
    expect(rejection(rest).message).toContain('chunk_size must be a number, got undefined');
  });

  test.each(['v1; DROP TABLE users', 'V1', '1v', 'v', 'v-1', 'v1"', `v${'a'.repeat(41)}`, 'v1 ', '../v1', 'vé'])(
    'hostile or malformed chunk_version %j is rejected',
    (chunk_version) => {
      expect(rejection({ ...base, chunk_version }).message).toContain('chunk_version');
      expect(() => shadowTableFor(chunk_version)).toThrow(ConfigValidationError);
    },
  );
});

describe('config hash and derived fields', () => {
  test('config_hash is sha256 of the sorted-key JSON of the semantic fields only', () => {
    const c = lockConfig(defaultCandidate(ID, 'v450_seed', 'alice'), NOW);
    // Written out by hand, keys in code-point order, to check canonicalisation independently.
    const expected =
      `{"chunk_size":450,"chunk_version":"v450_seed","embedder":"all-MiniLM-L6-v2","jaccard_threshold":0.8,"lexical_ranker":"bm25",` +
      `"overlap_ratio":0.1,"prefix_policy":"A","tokenizer":"all-MiniLM-L6-v2","tokenizer_hash":"${ID.tokenizer_hash}"}`;
    expect(c.config_hash).toBe(createHash('sha256').update(expected).digest('hex'));
    expect(c.ingest_run_id).toBe(`v450_seed-${c.config_hash.slice(0, 8)}`);
    expect(c.shadow_table).toBe(`document_chunks_v450_seed_${c.config_hash.slice(0, 8)}`);
    expect(c.created_at).toBe(NOW.toISOString());
    expect(c.is_production).toBe(false);
  });

  test('a config without lexical_ranker (locked before the field existed) keeps its hash; bm25 parameters are hashed', () => {
    const { lexical_ranker, ...legacy } = defaultCandidate(ID, 'v450_seed', 'alice');
    expect(lexical_ranker).toBe('bm25'); // new configs get BM25
    const expected =
      `{"chunk_size":450,"chunk_version":"v450_seed","embedder":"all-MiniLM-L6-v2","jaccard_threshold":0.8,` +
      `"overlap_ratio":0.1,"prefix_policy":"A","tokenizer":"all-MiniLM-L6-v2","tokenizer_hash":"${ID.tokenizer_hash}"}`;
    const old = lockConfig(legacy, NOW);
    expect(old.config_hash).toBe(createHash('sha256').update(expected).digest('hex'));
    expect(parseLockedConfig(JSON.parse(JSON.stringify(old)))).toEqual(old);
    const tuned = lockConfig({ ...legacy, lexical_ranker: 'bm25', bm25_k1: 0.9, bm25_b: 0.4 }, NOW);
    expect(new Set([old.config_hash, tuned.config_hash, lockConfig({ ...legacy, lexical_ranker: 'bm25' }, NOW).config_hash]).size).toBe(3);
    expect(() => lockConfig({ ...legacy, lexical_ranker: 'okapi' }, NOW)).toThrow(/lexical_ranker must be "bm25" or "ts_rank_cd", got "okapi"/);
    expect(() => lockConfig({ ...legacy, bm25_b: 1.5 }, NOW)).toThrow(/bm25_b 1.5 exceeds the maximum of 1/);
  });

  test('hash is independent of key order, author, time and baseline metrics, and sensitive to each semantic field', () => {
    const a = lockConfig(defaultCandidate(ID), NOW);
    const reordered = Object.fromEntries(Object.entries(defaultCandidate(ID)).reverse());
    const b = lockConfig({ ...reordered, created_by: 'bob', baseline_metrics: { hit_at_5: 0.61 }, is_production: true }, new Date(0));
    expect(b.config_hash).toBe(a.config_hash);
    const variants = [
      { chunk_size: 451 },
      { overlap_ratio: 0.11 },
      { jaccard_threshold: 0.81 },
      { prefix_policy: 'B' },
      { embedder: 'bge-small-en-v1.5' },
      { tokenizer_hash: 'ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab13' },
      { chunk_version: 'v450_other' },
    ];
    const hashes = new Set(variants.map((v) => lockConfig({ ...defaultCandidate(ID), ...v }, NOW).config_hash));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(a.config_hash)).toBe(false);
  });

  test('canonicalJson sorts nested keys and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: undefined } })).toBe('{"a":{"d":[2,{"y":null,"z":1}]},"b":1}');
  });

  test('parseLockedConfig round-trips through JSON and detects tampering', () => {
    const c = lockConfig({ ...defaultCandidate(ID), baseline_metrics: { hit_at_5: 0.6 } }, NOW);
    expect(parseLockedConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
    expect(() => parseLockedConfig({ ...c, chunk_size: 300 })).toThrow(/config_hash .* does not match the semantic fields/);
    expect(() => parseLockedConfig({ ...c, shadow_table: 'users' })).toThrow(/shadow_table users must be document_chunks_/);
    expect(() => parseLockedConfig({ ...c, extra: 1 })).toThrow(/unknown field/);
  });

  test('the seeds candidate and the baseline lock cleanly and differ', () => {
    const cand = lockConfig(defaultCandidate(ID), NOW);
    const base = lockConfig(defaultBaseline(ID), NOW);
    expect([cand.chunk_size, cand.overlap_ratio, cand.jaccard_threshold, cand.prefix_policy]).toEqual([450, 0.1, 0.8, 'A']);
    expect([base.chunk_size, base.overlap_ratio, base.jaccard_threshold, base.prefix_policy]).toEqual([512, 0, 1, 'none']);
    expect(base.shadow_table).not.toBe(cand.shadow_table);
  });
});
