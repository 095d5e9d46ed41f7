// FAISS indexes over L2-normalised embeddings, searched by inner product (= cosine):
//   flat = IndexFlatIP, exact: the truth the probes and the nprobe sweep compare against;
//   ivf  = IVF<nlist>,Flat, approximate: what serving uses, with a settable nprobe.
// FAISS labels are int64 positions in insertion order; the chunk id of label i is chunkIds[i], kept
// beside the index. save()/load() write a directory with a SHA256SUMS file that load() verifies.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { loadFaiss, type NativeIndex } from './faiss-binding';
import { seededRandom as mulberry32 } from '../platform/seeded-random';
import { formatZodIssues } from '../platform/zod-issues';

export type FaissIndexKind = 'flat' | 'ivf';

/** The |‖v‖−1| invariant every stored vector meets (DESIGN §1 probes). */
export const UNIT_NORM_TOLERANCE = 1e-5;
/** FAISS k-means wants >= 39 training points per list, or it warns and trains poorly. */
const MIN_POINTS_PER_LIST = 39;

export const FAISS_FILES = { index: 'index.faiss', chunkIds: 'chunk-ids.json', manifest: 'manifest.json', sums: 'SHA256SUMS' } as const;
const FORMAT = 'bakeoff-faiss/1';

export const BuildOptions = z
  .object({
    kind: z.enum(['flat', 'ivf']),
    /** IVF lists; default defaultNlist(n). */
    nlist: z.number().int().min(1).max(1 << 20).optional(),
    /** IVF lists probed per query after building; default round(√nlist), pgvector's rule of thumb (FAISS's own default, 1, loses recall). Tune with the nprobe sweep. */
    nprobe: z.number().int().min(1).optional(),
    /** Rows sampled to train the IVF quantizer; default min(n, 64·nlist). */
    trainSampleSize: z.number().int().min(1).optional(),
    /** Seed of the training sample, so a rebuild of the same data gives the same index. */
    seed: z.number().int().default(42),
  })
  .strict();
export type BuildOptions = z.input<typeof BuildOptions>;

const ChunkIds = z.array(z.string().min(1, 'chunk id must be a non-empty string'));

const Manifest = z
  .object({
    format: z.literal(FORMAT),
    kind: z.enum(['flat', 'ivf']),
    metric: z.literal('inner_product'),
    dim: z.number().int().positive(),
    ntotal: z.number().int().nonnegative(),
    nlist: z.number().int().positive().nullable(),
    nprobe: z.number().int().positive().nullable(),
    faissNode: z.string(),
  })
  .strict();
type Manifest = z.infer<typeof Manifest>;

/** One search result: the chunk, its FAISS label (position) and its inner product with the query. */
export interface FaissHit {
  chunkId: string;
  label: number;
  score: number;
}

export class FaissIndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaissIndexError';
  }
}

/** A saved index whose files do not match their checksums, or are missing or unreadable. */
export class FaissIndexCorruptError extends FaissIndexError {
  constructor(message: string) {
    super(message);
    this.name = 'FaissIndexCorruptError';
  }
}

/** Target list size: ~48 vectors per list once the corpus is big enough (see defaultNlist). */
const POINTS_PER_LIST = 48;

/**
 * √n lists for small tables, ~n/48 lists from n ≈ 2.3k up, always capped so every list gets
 * MIN_POINTS_PER_LIST training points. Measured at 100k chunks (docs/benchmarks.md): real question
 * embeddings spread over many lists, so with √n = 316 lists the 0.95 overlap point scans ~10 % of
 * the data (ANN p95 5.2 ms); with ~2k lists it scans ~1.6 % (p95 1.8 ms, within the 2 ms budget).
 * The price is k-means time at build (1.5 s → 19 s at 100k), paid once per ingest.
 */
export function defaultNlist(n: number): number {
  const wanted = Math.max(Math.round(Math.sqrt(n)), Math.round(n / POINTS_PER_LIST));
  return Math.max(1, Math.min(wanted, Math.floor(n / MIN_POINTS_PER_LIST)));
}

export const CreateOptions = z
  .object({
    kind: z.enum(['flat', 'ivf']),
    dim: z.number().int().min(1).max(65_536),
    /** IVF lists (required for ivf). */
    nlist: z.number().int().min(1).max(1 << 20).optional(),
  })
  .strict();
export type CreateOptions = z.input<typeof CreateOptions>;

export function defaultNprobe(nlist: number): number {
  return Math.max(1, Math.round(Math.sqrt(nlist)));
}

export class FaissIndex {
  private readonly idSet: Set<string>;

  private constructor(
    private readonly native: NativeIndex,
    readonly kind: FaissIndexKind,
    readonly dim: number,
    private readonly chunkIds: string[],
  ) {
    this.idSet = new Set(chunkIds);
  }

  /**
   * Builds an index over `vectors` (row-major Float32Array of n·dim, or n rows); row i is chunk
   * chunkIds[i]. Rows must be L2-normalised; chunk ids must be unique. An ivf index is trained on a
   * seeded sample of the rows first.
   */
  static build(vectors: Float32Array | readonly ArrayLike<number>[], chunkIds: readonly string[], options: BuildOptions): FaissIndex {
    const opts = parseOrThrow(BuildOptions, options, 'FAISS build options');
    const n = chunkIds.length;
    if (n === 0) throw new FaissIndexError('cannot build a FAISS index from 0 vectors');
    const data = toMatrix(vectors, n, 'vectors');
    const dim = data.length / n;
    if (opts.kind === 'flat') {
      if (opts.nlist !== undefined || opts.nprobe !== undefined || opts.trainSampleSize !== undefined) {
        throw new FaissIndexError('nlist, nprobe and trainSampleSize apply to an ivf index, not flat');
      }
      const flat = FaissIndex.create({ kind: 'flat', dim });
      flat.add(data, chunkIds);
      return flat;
    }
    const nlist = opts.nlist ?? defaultNlist(n);
    if (nlist > n) throw new FaissIndexError(`nlist ${nlist} exceeds the ${n} vectors to index: each list needs training points`);
    const ivf = FaissIndex.create({ kind: 'ivf', dim, nlist });
    ivf.train(sampleRows(data, dim, Math.min(n, opts.trainSampleSize ?? 64 * nlist), opts.seed));
    ivf.setNprobe(Math.min(opts.nprobe ?? defaultNprobe(nlist), nlist));
    ivf.add(data, chunkIds);
    return ivf;
  }

  /** An empty index; an ivf one must be trained before vectors are added. */
  static create(options: CreateOptions): FaissIndex {
    const opts = parseOrThrow(CreateOptions, options, 'FAISS index options');
    const faiss = loadFaiss();
    if (opts.kind === 'flat') {
      if (opts.nlist !== undefined) throw new FaissIndexError('nlist applies to an ivf index, not flat');
      return new FaissIndex(faiss.fromFactory(opts.dim, 'Flat', faiss.metricInnerProduct), 'flat', opts.dim, []);
    }
    if (opts.nlist === undefined) throw new FaissIndexError('an ivf index needs nlist (see defaultNlist)');
    return new FaissIndex(faiss.fromFactory(opts.dim, `IVF${opts.nlist},Flat`, faiss.metricInnerProduct), 'ivf', opts.dim, []);
  }

  get isTrained(): boolean {
    return this.native.isTrained();
  }

  /** Trains the IVF coarse quantizer (k-means) on unit rows; needs at least nlist rows, ideally 39·nlist or more. */
  train(sample: Float32Array | readonly ArrayLike<number>[]): void {
    const nlist = this.nlist;
    if (nlist === null) throw new FaissIndexError('a flat index needs no training');
    if (this.ntotal > 0) throw new FaissIndexError('the ivf index already holds vectors; train it before adding');
    const data = toMatrix(sample, undefined, 'training sample', this.dim);
    const rows = data.length / this.dim;
    if (rows < nlist) throw new FaissIndexError(`training needs at least nlist=${nlist} rows, got ${rows}`);
    assertUnitRows(data, this.dim);
    this.native.train(data);
  }

  /**
   * Appends unit rows for the given chunk ids (labels continue from ntotal). Refused on an untrained
   * ivf index: stock faiss-node aborts the whole process there.
   */
  add(vectors: Float32Array | readonly ArrayLike<number>[], chunkIds: readonly string[]): void {
    if (!this.native.isTrained()) {
      throw new FaissIndexError(`the ${this.kind} index is not trained: call train() with a sample of vectors before add()`);
    }
    const ids = parseOrThrow(ChunkIds, chunkIds, 'chunk ids');
    const data = toMatrix(vectors, ids.length, 'vectors', this.dim);
    if (ids.length === 0) return;
    const fresh = new Set<string>();
    for (const id of ids) {
      if (this.idSet.has(id) || fresh.has(id)) throw new FaissIndexError(`chunk id ${JSON.stringify(id)} appears more than once`);
      fresh.add(id);
    }
    assertUnitRows(data, this.dim);
    this.native.add(data); // a Float32Array reaches FAISS without a copy (binding patch)
    for (const id of ids) {
      this.chunkIds.push(id);
      this.idSet.add(id);
    }
  }

  /** Reads a directory written by save(), verifying every file against SHA256SUMS first. */
  static load(dir: string): FaissIndex {
    const sumsPath = path.join(dir, FAISS_FILES.sums);
    if (!fs.existsSync(sumsPath)) {
      throw new FaissIndexCorruptError(`${sumsPath} is missing: ${dir} is not a saved FAISS index, or its save did not finish`);
    }
    const expected = parseSums(fs.readFileSync(sumsPath, 'utf8'), sumsPath);
    const contents = new Map<string, Buffer>();
    for (const file of [FAISS_FILES.manifest, FAISS_FILES.chunkIds, FAISS_FILES.index]) {
      const want = expected.get(file);
      if (!want) throw new FaissIndexCorruptError(`${sumsPath} has no checksum for ${file}`);
      const filePath = path.join(dir, file);
      if (!fs.existsSync(filePath)) throw new FaissIndexCorruptError(`${filePath} is missing`);
      const bytes = fs.readFileSync(filePath);
      const got = sha256(bytes);
      if (got !== want) {
        throw new FaissIndexCorruptError(
          `${filePath} is corrupted: sha256 ${got} does not match ${want} in ${FAISS_FILES.sums}; rebuild the index`,
        );
      }
      contents.set(file, bytes);
    }
    const manifest = parseJsonFile(Manifest, contents.get(FAISS_FILES.manifest)!, path.join(dir, FAISS_FILES.manifest));
    const ids = parseJsonFile(ChunkIds, contents.get(FAISS_FILES.chunkIds)!, path.join(dir, FAISS_FILES.chunkIds));
    let native: NativeIndex;
    try {
      native = loadFaiss().fromBuffer(contents.get(FAISS_FILES.index)!);
    } catch (err) {
      throw new FaissIndexCorruptError(`${path.join(dir, FAISS_FILES.index)} is not a readable FAISS index: ${(err as Error).message}`);
    }
    const nlist = native.getNlist();
    const mismatch =
      native.ntotal() !== manifest.ntotal ? `ntotal ${native.ntotal()} vs manifest ${manifest.ntotal}`
      : native.getDimension() !== manifest.dim ? `dim ${native.getDimension()} vs manifest ${manifest.dim}`
      : ids.length !== manifest.ntotal ? `${ids.length} chunk ids for ${manifest.ntotal} vectors`
      : (nlist === null) !== (manifest.kind === 'flat') ? `a ${nlist === null ? 'flat' : 'ivf'} index where the manifest says ${manifest.kind}`
      : nlist !== manifest.nlist ? `nlist ${nlist} vs manifest ${manifest.nlist}`
      : null;
    if (mismatch) throw new FaissIndexCorruptError(`${dir} is inconsistent: ${mismatch}`);
    return new FaissIndex(native, manifest.kind, manifest.dim, ids);
  }

  get ntotal(): number {
    return this.native.ntotal();
  }

  /** Number of IVF lists; null for flat. */
  get nlist(): number | null {
    return this.native.getNlist();
  }

  /** IVF lists probed per query; null for flat. */
  get nprobe(): number | null {
    return this.native.getNprobe();
  }

  /** Sets how many IVF lists a query probes (1..nlist): more lists, higher recall, slower search. */
  setNprobe(nprobe: number): void {
    const nlist = this.nlist;
    if (nlist === null) throw new FaissIndexError('nprobe applies to an ivf index; this one is flat');
    if (!Number.isInteger(nprobe) || nprobe < 1 || nprobe > nlist) {
      throw new FaissIndexError(`nprobe must be an integer in [1, ${nlist}] (nlist), got ${nprobe}`);
    }
    this.native.setNprobe(nprobe);
  }

  chunkIdAt(label: number): string {
    const id = this.chunkIds[label];
    if (id === undefined) throw new FaissIndexError(`label ${label} is outside [0, ${this.chunkIds.length})`);
    return id;
  }

  /**
   * The k nearest labels per query, best first. k is clamped to ntotal; an IVF query whose probed
   * lists hold fewer than k vectors returns fewer (FAISS's -1 padding is dropped).
   */
  searchLabels(queries: Float32Array | readonly ArrayLike<number>[], k: number): { labels: number[][]; scores: number[][] } {
    if (!Number.isInteger(k) || k < 1) throw new FaissIndexError(`k must be a positive integer, got ${k}`);
    const data = toMatrix(queries, undefined, 'queries', this.dim);
    const nq = data.length / this.dim;
    assertFinite(data, 'queries');
    const kk = Math.min(k, this.ntotal);
    const labels: number[][] = [];
    const scores: number[][] = [];
    if (kk === 0 || nq === 0) return { labels: Array.from({ length: nq }, () => []), scores: Array.from({ length: nq }, () => []) };
    const result = this.native.search(data, kk);
    for (let q = 0; q < nq; q++) {
      const rowLabels: number[] = [];
      const rowScores: number[] = [];
      for (let j = q * kk; j < (q + 1) * kk; j++) {
        if (result.labels[j] < 0) continue;
        rowLabels.push(result.labels[j]);
        rowScores.push(result.distances[j]);
      }
      labels.push(rowLabels);
      scores.push(rowScores);
    }
    return { labels, scores };
  }

  /** The k nearest chunks per query (see searchLabels for k and padding). */
  search(queries: Float32Array | readonly ArrayLike<number>[], k: number): FaissHit[][] {
    const { labels, scores } = this.searchLabels(queries, k);
    return labels.map((row, q) => row.map((label, j) => ({ chunkId: this.chunkIdAt(label), label, score: scores[q][j] })));
  }

  /** Writes index.faiss, chunk-ids.json, manifest.json and SHA256SUMS (last) into dir. */
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const manifest: Manifest = {
      format: FORMAT,
      kind: this.kind,
      metric: 'inner_product',
      dim: this.dim,
      ntotal: this.ntotal,
      nlist: this.nlist,
      nprobe: this.nprobe,
      faissNode: loadFaiss().version,
    };
    const files: [string, Buffer][] = [
      [FAISS_FILES.index, this.native.toBuffer()],
      [FAISS_FILES.chunkIds, Buffer.from(JSON.stringify(this.chunkIds))],
      [FAISS_FILES.manifest, Buffer.from(JSON.stringify(manifest, null, 2) + '\n')],
    ];
    for (const [name, bytes] of files) writeAtomically(path.join(dir, name), bytes);
    // Written last: an interrupted save leaves checksums that do not match, and load() says so.
    const sums = files.map(([name, bytes]) => `${sha256(bytes)}  ${name}\n`).join('');
    writeAtomically(path.join(dir, FAISS_FILES.sums), Buffer.from(sums));
  }
}

/**
 * overlap@k = Σ_q |I_ivf[q] ∩ I_flat[q]| / Σ_q min(k, |I_flat[q]|), i.e. |I_ivf ∩ I_flat| / (nq·k)
 * whenever the flat index holds at least k vectors. Works on labels or chunk ids alike.
 */
export function overlapAtK<T>(ivf: readonly (readonly T[])[], flat: readonly (readonly T[])[], k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new FaissIndexError(`k must be a positive integer, got ${k}`);
  if (ivf.length !== flat.length) throw new FaissIndexError(`overlap needs the same queries: ${ivf.length} ivf rows vs ${flat.length} flat rows`);
  let hits = 0;
  let possible = 0;
  for (let q = 0; q < flat.length; q++) {
    const truth = new Set(flat[q].slice(0, k));
    possible += truth.size;
    for (const id of new Set(ivf[q].slice(0, k))) if (truth.has(id)) hits++;
  }
  return possible === 0 ? 1 : hits / possible;
}

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error, { root: null, separator: '; ' });
    throw new FaissIndexError(`invalid ${what}: ${issues}`);
  }
  return parsed.data;
}

function parseJsonFile<S extends z.ZodType>(schema: S, bytes: Buffer, file: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new FaissIndexCorruptError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new FaissIndexCorruptError(`${file} is malformed: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}

/** Row-major Float32Array of the rows; rows given as a Float32Array are used as they are. */
function toMatrix(vectors: Float32Array | readonly ArrayLike<number>[], n: number | undefined, what: string, dim?: number): Float32Array {
  if (vectors instanceof Float32Array) {
    const rows = n ?? (dim ? vectors.length / dim : NaN);
    const d = dim ?? vectors.length / rows;
    if (!Number.isInteger(rows) || !Number.isInteger(d) || d < 1 || rows * d !== vectors.length) {
      throw new FaissIndexError(`${what}: a Float32Array of length ${vectors.length} is not ${n ?? '?'} rows of ${dim ?? '?'} dimensions`);
    }
    return vectors;
  }
  if (!Array.isArray(vectors)) throw new FaissIndexError(`${what} must be a Float32Array or an array of rows`);
  if (n !== undefined && vectors.length !== n) throw new FaissIndexError(`${what}: ${vectors.length} rows for ${n} chunk ids`);
  const d = dim ?? (vectors.length > 0 ? vectors[0].length : 0);
  if (vectors.length > 0 && d < 1) throw new FaissIndexError(`${what}: rows are empty`);
  const out = new Float32Array(vectors.length * d);
  vectors.forEach((row, i) => {
    if (row.length !== d) throw new FaissIndexError(`${what}: row ${i} has ${row.length} dimensions, expected ${d}`);
    for (let j = 0; j < d; j++) out[i * d + j] = row[j];
  });
  return out;
}

function assertUnitRows(data: Float32Array, dim: number): void {
  for (let i = 0; i < data.length / dim; i++) {
    let sq = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) sq += data[j] * data[j];
    const norm = Math.sqrt(sq);
    if (!(Math.abs(norm - 1) < UNIT_NORM_TOLERANCE)) {
      throw new FaissIndexError(`vector ${i} has L2 norm ${norm}; inner-product search needs unit vectors (|norm-1| < ${UNIT_NORM_TOLERANCE})`);
    }
  }
}

function assertFinite(data: Float32Array, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new FaissIndexError(`${what}: value ${data[i]} at offset ${i} is not finite`);
  }
}

/** A seeded uniform sample of rows without replacement (partial Fisher–Yates over row numbers). */
function sampleRows(data: Float32Array, dim: number, size: number, seed: number): Float32Array {
  const n = data.length / dim;
  if (size >= n) return data;
  const random = mulberry32(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const out = new Float32Array(size * dim);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (n - i));
    [order[i], order[j]] = [order[j], order[i]];
    out.set(data.subarray(order[i] * dim, (order[i] + 1) * dim), i * dim);
  }
  return out;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseSums(text: string, file: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new FaissIndexCorruptError(`${file} has a malformed line: ${JSON.stringify(line.slice(0, 120))}`);
    sums.set(m[2], m[1]);
  }
  return sums;
}

function writeAtomically(file: string, bytes: Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}
