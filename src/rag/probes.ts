// Probes: invariants of a shadow table and its indexes, each measured for real and judged against a
// threshold (value, threshold, direction, verdict), so a gate can say exactly why it decided.
//   prefix_leakage        rows whose bm25_text starts with the contextual prefix (policy A/none: 0)
//   max_embedding_tokens  longest embedding_text in the embedder's own tokens ≤ the budget
//   dedup_rate            near-duplicates removed by the ingest, inside the expected band
//   snapshot_breadth      the retrieval snapshot really holds snapshotK candidates (not clamped to k)
//   ivf_flat_overlap@10   the serving IVF index finds ≥ 95 % of the exact top 10
//   unit_norm             max |‖v‖−1| over stored and query vectors < 1e-5
//   fingerprints          every retrieved row carries this config's ingest_run_id and chunk_version
import type { ProbeResult } from '../activities/types';
import type { GateDirection, Verdict } from '../workflows/types';
import { quoteIdent, type Queryable } from '../platform/db';
import { GUARDRAILS, type LockedConfig } from './config';
import { overlapAtK, type FaissIndex } from './faiss-index';
import { PREFIX_MARKER, embeddingTokensOf, type EmbeddingTokenCounter } from './prefix';
import type { RetrievalResult } from './retrieve';

export const PROBE_THRESHOLDS = {
  prefixLeakageRows: 0,
  dedupRate: { lower: 0.1, upper: 0.35 },
  ivfFlatOverlapAt10: 0.95,
  unitNormTolerance: 1e-5,
  fingerprintCoverage: 1,
} as const;

/** value vs threshold under a direction; a band fails on either side (an out-of-band probe is broken). */
export function judgeProbe(value: number, threshold: number, direction: GateDirection, upper?: number): Verdict {
  if (!Number.isFinite(value)) return 'inconclusive';
  switch (direction) {
    case 'higher-is-better':
      return value >= threshold ? 'pass' : 'fail';
    case 'lower-is-better':
      return value <= threshold ? 'pass' : 'fail';
    case 'within-band':
      return value >= threshold && value <= (upper ?? Infinity) ? 'pass' : 'fail';
  }
}

function probe(name: string, value: number, threshold: number, direction: GateDirection, detail: string, upper?: number): ProbeResult {
  return { name, value, threshold, ...(upper !== undefined ? { upper } : {}), direction, verdict: judgeProbe(value, threshold, direction, upper), detail };
}

function inconclusive(name: string, threshold: number, direction: GateDirection, detail: string, upper?: number): ProbeResult {
  return { name, value: Number.NaN, threshold, ...(upper !== undefined ? { upper } : {}), direction, verdict: 'inconclusive', detail };
}

export async function probePrefixLeakage(db: Queryable, table: string, policy: LockedConfig['prefix_policy']): Promise<ProbeResult> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(table)} WHERE left(bm25_text, $2) = $1`, [
    PREFIX_MARKER,
    PREFIX_MARKER.length,
  ]);
  const n = r.rows[0].n;
  if (policy === 'B') {
    // Policy B puts the prefix in bm25_text on purpose: leakage is not defined for it.
    return { name: 'prefix_leakage', value: n, threshold: 0, direction: 'lower-is-better', verdict: 'pass', detail: `policy B keeps the prefix in bm25_text by design (${n} rows carry it)` };
  }
  return probe('prefix_leakage', n, PROBE_THRESHOLDS.prefixLeakageRows, 'lower-is-better', `${n} rows of ${table} have bm25_text starting with ${JSON.stringify(PREFIX_MARKER)} (policy ${policy} allows 0)`);
}

/** Re-tokenises every stored embedding_text with the embedder's tokenizer (special tokens included). */
export async function probeMaxEmbeddingTokens(
  db: Queryable,
  table: string,
  counter: EmbeddingTokenCounter,
  budget: number = GUARDRAILS.maxEmbeddingTokens,
): Promise<ProbeResult> {
  const page = 1000;
  let max = 0;
  let worst = '';
  let rows = 0;
  for (let after = ''; ; ) {
    const r = await db.query<{ chunk_id: string; embedding_text: string }>(
      `SELECT chunk_id, embedding_text FROM ${quoteIdent(table)} WHERE chunk_id > $1 ORDER BY chunk_id LIMIT $2`,
      [after, page],
    );
    for (const row of r.rows) {
      const n = embeddingTokensOf(counter, row.embedding_text);
      if (n > max) {
        max = n;
        worst = row.chunk_id;
      }
    }
    rows += r.rows.length;
    if (r.rows.length < page) break;
    after = r.rows[r.rows.length - 1].chunk_id;
  }
  if (rows === 0) return inconclusive('max_embedding_tokens', budget, 'lower-is-better', `${table} has no rows`);
  return probe('max_embedding_tokens', max, budget, 'lower-is-better', `longest embedding_text of ${rows} rows is ${max} tokens (chunk ${worst}); budget ${budget}`);
}

/** The dedup rate the last finished ingest into this table reported. */
export async function probeDedupRate(
  db: Queryable,
  table: string,
  band: { lower: number; upper: number } = PROBE_THRESHOLDS.dedupRate,
): Promise<ProbeResult> {
  const r = await db.query<{ report: unknown; ingest_run_id: string }>(
    `SELECT report, ingest_run_id FROM ingest_runs WHERE table_name = $1 AND status = 'done' ORDER BY updated_at DESC LIMIT 1`,
    [table],
  ).catch(() => ({ rows: [] as { report: unknown; ingest_run_id: string }[] }));
  const report = r.rows[0]?.report as { dedup_rate?: unknown; duplicates_removed?: unknown; chunks_before_dedup?: unknown } | undefined;
  const rate = typeof report?.dedup_rate === 'number' ? report.dedup_rate : null;
  if (rate === null) return inconclusive('dedup_rate', band.lower, 'within-band', `no finished ingest of ${table} reports a dedup rate`, band.upper);
  // Above the band, dedup is deleting content: fail. Below it, the corpus simply has fewer near-duplicates
  // than expected (or dedup is not biting): not harmful, but a human should look — inconclusive.
  const verdict: Verdict = rate > band.upper ? 'fail' : rate < band.lower ? 'inconclusive' : 'pass';
  const why = rate > band.upper ? 'above the band: dedup removes more than expected' : rate < band.lower ? 'below the band: few near-duplicates found' : 'inside the band';
  return {
    name: 'dedup_rate',
    value: rate,
    threshold: band.lower,
    upper: band.upper,
    direction: 'within-band',
    verdict,
    detail: `ingest ${r.rows[0].ingest_run_id} removed ${String(report?.duplicates_removed)} of ${String(report?.chunks_before_dedup)} chunks (${(rate * 100).toFixed(2)} %); expected ${band.lower * 100}–${band.upper * 100} %, ${why}`,
  };
}

/** Every probe query's snapshot must hold snapshotK candidates (or the whole table when it is smaller). */
export function probeSnapshotBreadth(results: readonly RetrievalResult[], snapshotK: number, tableRows: number): ProbeResult {
  const expected = Math.min(snapshotK, tableRows);
  if (results.length === 0) return inconclusive('snapshot_breadth', expected, 'higher-is-better', 'no probe queries were run');
  const sizes = results.map((r) => r.snapshot.length);
  const min = Math.min(...sizes);
  return probe('snapshot_breadth', min, expected, 'higher-is-better', `smallest snapshot over ${results.length} queries holds ${min} candidates; configured ${snapshotK}, table has ${tableRows} rows`);
}

/** overlap@k of the serving IVF index with the exact flat index, on the same query vectors. */
export function probeIvfFlatOverlap(flat: FaissIndex | null, ivf: FaissIndex | null, queries: readonly Float32Array[], k = 10, threshold: number = PROBE_THRESHOLDS.ivfFlatOverlapAt10): ProbeResult {
  const name = `ivf_flat_overlap@${k}`;
  if (!flat || !ivf) return inconclusive(name, threshold, 'higher-is-better', `no ${!flat ? 'flat' : 'IVF'} index for this table`);
  if (queries.length === 0) return inconclusive(name, threshold, 'higher-is-better', 'no probe queries');
  const truth = flat.searchLabels(queries, k).labels;
  const got = ivf.searchLabels(queries, k).labels;
  const overlap = overlapAtK(got, truth, k);
  return probe(name, overlap, threshold, 'higher-is-better', `IVF (nlist ${ivf.nlist}, nprobe ${ivf.nprobe}) finds ${(overlap * 100).toFixed(2)} % of the exact top ${k} over ${queries.length} queries`);
}

/** Largest |‖v‖−1| over every stored vector (computed in the database, in double precision) and the query vectors. */
export async function probeUnitNorm(db: Queryable, table: string, queryVectors: readonly ArrayLike<number>[], tolerance: number = PROBE_THRESHOLDS.unitNormTolerance): Promise<ProbeResult> {
  const r = await db.query<{ dev: number | null; n: number }>(
    `SELECT max(abs(vector_norm(embedding) - 1))::float8 AS dev, count(*)::int AS n FROM ${quoteIdent(table)}`,
  );
  const stored = r.rows[0].dev === null ? null : Number(r.rows[0].dev);
  let query = 0;
  for (const v of queryVectors) {
    let sq = 0;
    for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
    query = Math.max(query, Math.abs(Math.sqrt(sq) - 1));
  }
  if (stored === null) return inconclusive('unit_norm', tolerance, 'lower-is-better', `${table} has no rows`);
  const value = Math.max(stored, query);
  // "< tolerance" is the invariant; lower-is-better passes at equality, so judge strictly here.
  const verdict: Verdict = value < tolerance ? 'pass' : 'fail';
  return {
    name: 'unit_norm',
    value,
    threshold: tolerance,
    direction: 'lower-is-better',
    verdict,
    detail: `max |‖v‖−1|: ${stored.toExponential(2)} over ${r.rows[0].n} stored vectors, ${query.toExponential(2)} over ${queryVectors.length} query vectors`,
  };
}

/** Share of retrieved candidates carrying the locked config's ingest_run_id and chunk_version. */
export function probeFingerprints(results: readonly RetrievalResult[], locked: Pick<LockedConfig, 'ingest_run_id' | 'chunk_version'>): ProbeResult {
  let total = 0;
  let good = 0;
  const foreign = new Set<string>();
  for (const r of results) {
    for (const c of r.snapshot) {
      total++;
      if (c.ingest_run_id === locked.ingest_run_id && c.chunk_version === locked.chunk_version) good++;
      else foreign.add(`${c.ingest_run_id || '(empty)'}/${c.chunk_version || '(empty)'}`);
    }
  }
  if (total === 0) return inconclusive('fingerprints', PROBE_THRESHOLDS.fingerprintCoverage, 'higher-is-better', 'no candidates were retrieved');
  const share = good / total;
  return probe(
    'fingerprints',
    share,
    PROBE_THRESHOLDS.fingerprintCoverage,
    'higher-is-better',
    foreign.size === 0
      ? `all ${total} retrieved candidates carry ${locked.ingest_run_id}/${locked.chunk_version}`
      : `${total - good} of ${total} retrieved candidates carry another fingerprint: ${[...foreign].slice(0, 5).join(', ')}`,
  );
}
