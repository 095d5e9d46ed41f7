// The quality proxy's threshold τ on cosine(query, top passage), calibrated on the TRAIN split only:
// run every train question through the side that serves (the live baseline, reranker included), label
// it a hit when the top passage comes from the case's gold document, and pick the τ that best
// separates hits from misses by Youden's J = TPR − FPR (TPR = share of hits with cosine ≥ τ, FPR =
// share of misses with cosine ≥ τ). The live KPI "quality_proxy" is then the share of live queries
// whose top passage clears τ: an estimate of the top-1 hit rate that needs no labels. One τ serves
// both sides, so a candidate is measured with the baseline's yardstick, not one fitted to itself.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { EvalCase } from '../data/dataset';
import type { HybridRetriever } from '../rag/retrieve';
import { formatZodIssues } from '../platform/zod-issues';

export const TauCalibrationSchema = z.strictObject({
  format: z.literal('bakeoff-quality-tau/1'),
  tau: z.number().min(-1).max(1),
  youden_j: z.number(),
  tpr: z.number().min(0).max(1),
  fpr: z.number().min(0).max(1),
  hits: z.number().int().nonnegative(),
  misses: z.number().int().nonnegative(),
  /** true when the train cases were all hits or all misses: τ is then their median cosine. */
  degenerate: z.boolean(),
  split: z.literal('train'),
  case_ids_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  table: z.string(),
  ingest_run_id: z.string(),
  embedder: z.string(),
  method: z.string(),
  created_at: z.string(),
});
export type TauCalibration = z.infer<typeof TauCalibrationSchema>;

export interface ScoredOutcome {
  score: number;
  hit: boolean;
}

/** The τ maximising Youden's J over the midpoints between observed scores (lowest τ on ties). */
export function chooseTau(samples: readonly ScoredOutcome[]): Pick<TauCalibration, 'tau' | 'youden_j' | 'tpr' | 'fpr' | 'hits' | 'misses' | 'degenerate'> {
  if (samples.length === 0) throw new Error('τ calibration needs at least one scored train case');
  const hits = samples.filter((s) => s.hit).length;
  const misses = samples.length - hits;
  const scores = [...new Set(samples.map((s) => s.score))].sort((a, b) => a - b);
  if (hits === 0 || misses === 0) {
    const sorted = samples.map((s) => s.score).sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    return { tau: median, youden_j: 0, tpr: hits ? 1 : 0, fpr: misses ? 1 : 0, hits, misses, degenerate: true };
  }
  let best = { tau: scores[0], youden_j: -Infinity, tpr: 1, fpr: 1 };
  const thresholds = [scores[0], ...scores.slice(1).map((s, i) => (s + scores[i]) / 2)];
  for (const tau of thresholds) {
    const tp = samples.filter((s) => s.hit && s.score >= tau).length;
    const fp = samples.filter((s) => !s.hit && s.score >= tau).length;
    const tpr = tp / hits;
    const fpr = fp / misses;
    if (tpr - fpr > best.youden_j + 1e-12) best = { tau, youden_j: tpr - fpr, tpr, fpr };
  }
  return { ...best, hits, misses, degenerate: false };
}

export interface CalibrateOptions {
  retriever: Pick<HybridRetriever, 'retrieve'>;
  cases: readonly EvalCase[];
  table: string;
  ingestRunId: string;
  embedder: string;
  onCase?: (done: number, total: number) => void;
}

/** Calibrates τ on the train cases given (dev cases are refused: they stay unseen by every choice). */
export async function calibrateTau(o: CalibrateOptions): Promise<TauCalibration> {
  const dev = o.cases.filter((c) => c.split !== 'train');
  if (dev.length > 0) throw new Error(`τ is calibrated on the train split only; got ${dev.length} non-train case(s), e.g. ${dev[0].case_id}`);
  const samples: ScoredOutcome[] = [];
  for (const [i, c] of o.cases.entries()) {
    const r = await o.retriever.retrieve(c.question);
    const top = r.passed[0] ?? r.snapshot[0];
    samples.push({ score: top ? top.cosine : -1, hit: top !== undefined && top.doc_id === c.gold_doc_id });
    o.onCase?.(i + 1, o.cases.length);
  }
  const ids = o.cases.map((c) => c.case_id).sort();
  return {
    format: 'bakeoff-quality-tau/1',
    ...chooseTau(samples),
    split: 'train',
    case_ids_sha256: createHash('sha256').update(ids.join('\n')).digest('hex'),
    table: o.table,
    ingest_run_id: o.ingestRunId,
    embedder: o.embedder,
    method: 'max Youden J of top-1 cosine vs top-1 gold-document hit, train split, served retriever',
    created_at: new Date().toISOString(),
  };
}

export function saveTau(file: string, cal: TauCalibration): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(cal, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** The calibration stored at `file`, or null when there is none; a malformed file is an error. */
export function loadTau(file: string): TauCalibration | null {
  if (!fs.existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = TauCalibrationSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file}: ${formatZodIssues(parsed.error, { root: '(file)', separator: '; ' })}`);
  return parsed.data;
}
