// Rerankers. What ships is a learned one: L2-regularised logistic regression over the retrieval
// features of rerank-features.ts, fitted by Newton's method (IRLS) from zero — deterministic, no
// random state — on the TRAIN split only; its lift is measured on DEV. For users who have one, a real
// cross-encoder (an ONNX sequence-classification export) loads through transformers.js; none can be
// had on this machine, so that path fails with a message saying what to supply.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { canonicalJson } from './config';
import { mean, ndcgAtK, reciprocalRankAtK, hitAtK } from './metrics';
import { FEATURE_NAMES, snapshotFeatures, type FeatureCandidate } from './rerank-features';
import { formatZodIssues } from '../platform/zod-issues';

export interface RerankRequest {
  query: string;
  /** The snapshot, in fused order. */
  candidates: readonly FeatureCandidate[];
}

/** Scores many requests in one call (the service batches concurrent requests into it). */
export interface Reranker {
  readonly id: string;
  scoreBatch(requests: readonly RerankRequest[]): Promise<number[][]>;
}

// ---------------------------------------------------------------------------------------------
// Learned reranker

const finite = z.number().finite();

export const LogisticModelSchema = z.strictObject({
  format: z.literal('bakeoff-logreg/1'),
  feature_names: z.array(z.string()).min(1),
  weights: z.array(finite),
  bias: finite,
  mean: z.array(finite),
  std: z.array(finite.positive()),
  l2: finite.nonnegative(),
  iterations: z.number().int().nonnegative(),
  converged: z.boolean(),
  trained_on: z.strictObject({
    split: z.literal('train'),
    cases: z.number().int().nonnegative(),
    /** sha256 over the sorted training case ids: proves which cases the model saw. */
    case_ids_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    positives: z.number().int().nonnegative(),
    negatives: z.number().int().nonnegative(),
    source: z.string().optional(),
  }),
});
export type LogisticModel = z.infer<typeof LogisticModelSchema>;

export interface TrainingExample {
  case_id: string;
  split: 'train' | 'dev';
  /** One row per snapshot candidate, in fused order. */
  features: readonly (readonly number[])[];
  /** 1 when the candidate is relevant (from the gold document), else 0. */
  labels: readonly number[];
}

export class TrainingSplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingSplitError';
  }
}

export interface TrainOptions {
  /** L2 penalty on the standardised weights (not the bias). */
  l2?: number;
  maxIterations?: number;
  /** Stop when no coefficient moves more than this. */
  tolerance?: number;
  source?: string;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Solves A x = b (A symmetric positive definite, small) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    const pivot = M[c][c];
    if (Math.abs(pivot) < 1e-12) throw new Error('singular Hessian while fitting the reranker (a constant feature with l2 = 0?)');
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / pivot;
      if (f !== 0) for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

export function caseIdsDigest(caseIds: readonly string[]): string {
  return createHash('sha256').update([...caseIds].sort().join('\n')).digest('hex');
}

/**
 * Fits the reranker on training-split examples. Any example from another split is refused: the dev
 * split is what the lift is reported on, so the model must never see it.
 */
export function trainLogisticReranker(examples: readonly TrainingExample[], options: TrainOptions = {}): LogisticModel {
  const wrong = examples.filter((e) => e.split !== 'train');
  if (wrong.length > 0) {
    throw new TrainingSplitError(`the reranker trains on the train split only; got ${wrong.length} ${wrong[0].split} case(s), e.g. ${wrong[0].case_id}`);
  }
  const l2 = options.l2 ?? 1;
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-8;
  const d = FEATURE_NAMES.length;
  const X: number[][] = [];
  const y: number[] = [];
  for (const e of examples) {
    if (e.features.length !== e.labels.length) throw new Error(`case ${e.case_id}: ${e.features.length} feature rows for ${e.labels.length} labels`);
    e.features.forEach((row, i) => {
      if (row.length !== d) throw new Error(`case ${e.case_id}: a feature row has ${row.length} values, expected ${d}`);
      X.push([...row]);
      y.push(e.labels[i] > 0 ? 1 : 0);
    });
  }
  const positives = y.filter((v) => v === 1).length;
  if (positives === 0 || positives === y.length) throw new Error(`cannot fit a reranker on ${y.length} rows with ${positives} positives: both classes are needed`);

  const mu = FEATURE_NAMES.map((_, j) => mean(X.map((r) => r[j])));
  const sd = FEATURE_NAMES.map((_, j) => Math.sqrt(mean(X.map((r) => (r[j] - mu[j]) ** 2))) || 1);
  const Z = X.map((r) => [...r.map((v, j) => (v - mu[j]) / sd[j]), 1]); // last column: bias
  const w = new Array<number>(d + 1).fill(0);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    const g = new Array<number>(d + 1).fill(0);
    const H = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < Z.length; i++) {
      const zi = Z[i];
      let s = 0;
      for (let j = 0; j <= d; j++) s += zi[j] * w[j];
      const p = sigmoid(s);
      const r = p - y[i];
      const v = Math.max(p * (1 - p), 1e-10);
      for (let j = 0; j <= d; j++) {
        g[j] += r * zi[j];
        const vz = v * zi[j];
        for (let k = j; k <= d; k++) H[j][k] += vz * zi[k];
      }
    }
    for (let j = 0; j <= d; j++) for (let k = 0; k < j; k++) H[j][k] = H[k][j];
    for (let j = 0; j < d; j++) {
      g[j] += l2 * w[j];
      H[j][j] += l2;
    }
    const step = solve(H, g);
    let moved = 0;
    for (let j = 0; j <= d; j++) {
      w[j] -= step[j];
      moved = Math.max(moved, Math.abs(step[j]));
    }
    converged = moved < tolerance;
  }
  return {
    format: 'bakeoff-logreg/1',
    feature_names: [...FEATURE_NAMES],
    weights: w.slice(0, d),
    bias: w[d],
    mean: mu,
    std: sd,
    l2,
    iterations,
    converged,
    trained_on: {
      split: 'train',
      cases: examples.length,
      case_ids_sha256: caseIdsDigest(examples.map((e) => e.case_id)),
      positives,
      negatives: y.length - positives,
      ...(options.source ? { source: options.source } : {}),
    },
  };
}

/** Probability of relevance for each feature row. */
export function predictLogistic(model: LogisticModel, rows: readonly (readonly number[])[]): number[] {
  return rows.map((r) => {
    let s = model.bias;
    for (let j = 0; j < model.weights.length; j++) s += model.weights[j] * ((r[j] - model.mean[j]) / model.std[j]);
    return sigmoid(s);
  });
}

export class LearnedReranker implements Reranker {
  readonly id: string;

  constructor(readonly model: LogisticModel) {
    const parsed = LogisticModelSchema.safeParse(model);
    if (!parsed.success) throw new Error(`invalid reranker model: ${formatZodIssues(parsed.error, { root: '', separator: '; ' })}`);
    if (model.feature_names.join(',') !== FEATURE_NAMES.join(',')) {
      throw new Error(`reranker model was trained on features [${model.feature_names.join(', ')}], this build computes [${FEATURE_NAMES.join(', ')}]: retrain it`);
    }
    if (model.weights.length !== FEATURE_NAMES.length || model.mean.length !== FEATURE_NAMES.length || model.std.length !== FEATURE_NAMES.length) {
      throw new Error('reranker model: weights, mean and std must have one value per feature');
    }
    this.id = `logreg-${createHash('sha256').update(canonicalJson({ w: model.weights, b: model.bias, m: model.mean, s: model.std })).digest('hex').slice(0, 12)}`;
  }

  static load(file: string): LearnedReranker {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read reranker model ${file}: ${(err as Error).message}`);
    }
    return new LearnedReranker(json as LogisticModel);
  }

  save(file: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(this.model, null, 2) + '\n');
    fs.renameSync(tmp, file);
  }

  async scoreBatch(requests: readonly RerankRequest[]): Promise<number[][]> {
    return requests.map((r) => predictLogistic(this.model, snapshotFeatures(r.query, r.candidates)));
  }
}

export interface RankingQuality {
  cases: number;
  mrr_at_10: number;
  ndcg_at_10: number;
  hit_at_1: number;
}

export interface RerankerLift {
  split: 'dev';
  cases: number;
  /** Order of the snapshot as fused (RRF), before reranking. */
  fused: RankingQuality;
  reranked: RankingQuality;
  /** reranked − fused, per metric. */
  lift: { mrr_at_10: number; ndcg_at_10: number; hit_at_1: number };
}

function quality(examples: readonly TrainingExample[], order: (e: TrainingExample) => number[]): RankingQuality {
  const rr: number[] = [];
  const nd: number[] = [];
  const h1: number[] = [];
  for (const e of examples) {
    const ranked = order(e).map(String);
    const qrels = new Map(e.labels.map((l, i) => [String(i), l > 0 ? 1 : 0]));
    rr.push(reciprocalRankAtK(ranked, qrels, 10));
    nd.push(ndcgAtK(ranked, qrels, 10));
    h1.push(hitAtK(ranked, qrels, 1));
  }
  return { cases: examples.length, mrr_at_10: mean(rr), ndcg_at_10: mean(nd), hit_at_1: mean(h1) };
}

/** How much the model improves the fused order on DEV examples (refuses any other split). */
export function rerankerLift(model: LogisticModel, examples: readonly TrainingExample[]): RerankerLift {
  const wrong = examples.filter((e) => e.split !== 'dev');
  if (wrong.length > 0) throw new TrainingSplitError(`the reranker's lift is reported on the dev split; got ${wrong[0].split} case ${wrong[0].case_id}`);
  const fused = quality(examples, (e) => e.labels.map((_, i) => i));
  const reranked = quality(examples, (e) => {
    const s = predictLogistic(model, e.features);
    return s.map((_, i) => i).sort((a, b) => s[b] - s[a] || a - b);
  });
  return {
    split: 'dev',
    cases: examples.length,
    fused,
    reranked,
    lift: {
      mrr_at_10: reranked.mrr_at_10 - fused.mrr_at_10,
      ndcg_at_10: reranked.ndcg_at_10 - fused.ndcg_at_10,
      hit_at_1: reranked.hit_at_1 - fused.hit_at_1,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Cross-encoder (user-supplied model)

export class CrossEncoderNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrossEncoderNotFoundError';
  }
}

export class CrossEncoderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrossEncoderError';
  }
}

type Transformers = typeof import('@xenova/transformers');
// transformers.js is ESM-only; a real dynamic import hidden from the CommonJS compiler (see embed.ts).
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

interface LogitsTensor {
  data: ArrayLike<number>;
  dims: readonly number[];
}
type PairTokenizer = (texts: string[], options: { text_pair: string[]; padding: boolean; truncation: boolean; max_length?: number }) => Record<string, unknown>;
type ClassifierModel = (inputs: Record<string, unknown>) => Promise<{ logits?: LogitsTensor }>;

const CrossEncoderOptions = z.strictObject({
  quantized: z.boolean().default(true),
  maxLength: z.number().int().min(8).max(4096).default(512),
  /** Pairs per forward pass. */
  batchSize: z.number().int().min(1).max(1024).default(32),
});

const HOW_TO_SUPPLY =
  'supply a directory laid out for transformers.js — config.json (architectures: *ForSequenceClassification), ' +
  'tokenizer.json, tokenizer_config.json and onnx/model_quantized.onnx (or onnx/model.onnx with quantized: false), ' +
  'e.g. an ONNX export of cross-encoder/ms-marco-MiniLM-L-6-v2; none can be downloaded on this machine';

/** A sequence-classification model scoring (query, passage) pairs; relevance = sigmoid(logit). */
export class CrossEncoderReranker implements Reranker {
  private constructor(
    readonly id: string,
    private readonly tokenizer: PairTokenizer,
    private readonly model: ClassifierModel,
    private readonly maxLength: number,
    private readonly batchSize: number,
  ) {}

  static async load(modelDir: string, options: z.input<typeof CrossEncoderOptions> = {}): Promise<CrossEncoderReranker> {
    const parsed = CrossEncoderOptions.safeParse(options);
    if (!parsed.success) throw new CrossEncoderError(`invalid cross-encoder options: ${formatZodIssues(parsed.error, { root: '', separator: '; ' })}`);
    const { quantized, maxLength, batchSize } = parsed.data;
    const dir = path.resolve(modelDir);
    const onnxFile = path.join('onnx', quantized ? 'model_quantized.onnx' : 'model.onnx');
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new CrossEncoderNotFoundError(`cross-encoder model directory ${dir} does not exist: ${HOW_TO_SUPPLY}`);
    }
    const missing = ['config.json', 'tokenizer.json', 'tokenizer_config.json', onnxFile].filter((f) => !fs.existsSync(path.join(dir, f)));
    if (missing.length > 0) throw new CrossEncoderNotFoundError(`cross-encoder model ${dir} lacks ${missing.join(', ')}: ${HOW_TO_SUPPLY}`);
    let config: { architectures?: unknown; model_type?: unknown };
    try {
      config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    } catch (err) {
      throw new CrossEncoderError(`${path.join(dir, 'config.json')} is not valid JSON: ${(err as Error).message}`);
    }
    const archs = Array.isArray(config.architectures) ? config.architectures.map(String) : [];
    if (!archs.some((a) => a.endsWith('ForSequenceClassification'))) {
      throw new CrossEncoderError(
        `${dir} declares architectures [${archs.join(', ')}], not a *ForSequenceClassification model: a bi-encoder (embedding model) cannot score pairs; ${HOW_TO_SUPPLY}`,
      );
    }
    const t = (await importEsm('@xenova/transformers')) as Transformers;
    // Offline by construction: loading reads the directory and nothing else.
    t.env.allowRemoteModels = false;
    t.env.allowLocalModels = true;
    t.env.localModelPath = path.dirname(dir);
    const name = path.basename(dir);
    const tokenizer = (await t.AutoTokenizer.from_pretrained(name, { local_files_only: true })) as unknown as PairTokenizer;
    const model = (await t.AutoModelForSequenceClassification.from_pretrained(name, { quantized, local_files_only: true })) as unknown as ClassifierModel;
    const hash = createHash('sha256').update(fs.readFileSync(path.join(dir, onnxFile))).digest('hex');
    return new CrossEncoderReranker(`cross-encoder:${name}@${hash.slice(0, 12)}`, tokenizer, model, maxLength, batchSize);
  }

  /** Relevance in (0,1) for each (query, passage) pair. */
  async scorePairs(pairs: readonly { query: string; passage: string }[]): Promise<number[]> {
    const out: number[] = [];
    for (let start = 0; start < pairs.length; start += this.batchSize) {
      const batch = pairs.slice(start, start + this.batchSize);
      const inputs = this.tokenizer(batch.map((p) => p.query), {
        text_pair: batch.map((p) => p.passage),
        padding: true,
        truncation: true,
        max_length: this.maxLength,
      });
      const result = await this.model(inputs);
      const logits = result.logits;
      if (!logits || !logits.dims || logits.dims[0] !== batch.length) {
        throw new CrossEncoderError(
          `model ${this.id} returned no logits of shape [${batch.length}, labels] (outputs: ${Object.keys(result).join(', ') || 'none'}): is it an ONNX export with a classification head?`,
        );
      }
      const labels = logits.dims[1] ?? 1;
      for (let i = 0; i < batch.length; i++) {
        // One label: a relevance logit. Two: softmax, the second class is "relevant".
        const score = labels === 1 ? sigmoid(Number(logits.data[i])) : sigmoid(Number(logits.data[i * labels + labels - 1]) - Number(logits.data[i * labels]));
        out.push(score);
      }
    }
    return out;
  }

  async scoreBatch(requests: readonly RerankRequest[]): Promise<number[][]> {
    const pairs = requests.flatMap((r) => r.candidates.map((c) => ({ query: r.query, passage: c.text })));
    const scores = await this.scorePairs(pairs);
    let off = 0;
    return requests.map((r) => {
      const s = scores.slice(off, off + r.candidates.length);
      off += r.candidates.length;
      return s;
    });
  }
}
