// Sentence embeddings from a local ONNX model through @xenova/transformers, never from the network.
// The same object is the tokenizer view that chunking uses, so chunk sizes are counted in the
// embedder's own tokens. Models are provisioned by scripts/provision/model.sh into modelsDir.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { modelsDir as defaultModelsDir } from '../platform/paths';
import { formatZodIssues } from '../platform/zod-issues';
import { ModelConfigError, readModelDescriptor, type Pooling } from './model-descriptor';

type Transformers = typeof import('@xenova/transformers');
type Tokenizer = Awaited<ReturnType<Transformers['AutoTokenizer']['from_pretrained']>>;

/** Minimal view of an onnxruntime InferenceSession (transformers.js does not export its type). */
interface OrtTensor { data: unknown; dims: readonly number[] }
interface OrtSession {
  inputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}
type OrtTensorCtor = new (type: 'int64', data: BigInt64Array, dims: number[]) => OrtTensor;

export const DEFAULT_EMBEDDER = 'all-MiniLM-L6-v2';
export const NORM_TOLERANCE = 1e-5;

const ModelName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a model name is a directory name: letters, digits, ".", "_", "-"');
const LoadOptions = z
  .object({ quantized: z.boolean().default(true), modelsDir: z.string().min(1).optional() })
  .strict();
const EmbedOptions = z
  .object({ batchSize: z.number().int().min(1).max(1024).default(32), truncate: z.boolean().default(true) })
  .strict();
export type { Pooling };
export type LoadOptions = z.input<typeof LoadOptions>;
export type EmbedOptions = z.input<typeof EmbedOptions>;

/** A padded batch of token ids, ready for the ONNX session (row-major, batch × seqLen). */
export interface TokenBatch {
  size: number;
  seqLen: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
}

export class ModelNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

// transformers.js is ESM-only ("type": "module", no require export). TypeScript compiles import() to
// require() under CommonJS, and jest's require() refuses ES modules ("Must use import to load ES
// Module"). A real dynamic import, hidden from the compiler, works under plain Node and under jest.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;
let transformersPromise: Promise<Transformers> | undefined;
function loadTransformers(): Promise<Transformers> {
  transformersPromise ??= importEsm('@xenova/transformers') as Promise<Transformers>;
  return transformersPromise;
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function formatZodError(what: string, err: z.ZodError): string {
  return `${what}: ` + formatZodIssues(err, { root: '(value)', separator: '; ' });
}

export class Embedder {
  private constructor(
    /** Model directory name, e.g. 'all-MiniLM-L6-v2'. */
    readonly name: string,
    /** Identifies the exact weights: `<name>/<onnx file>@<sha256 prefix>`. */
    readonly modelId: string,
    readonly modelHash: string,
    readonly quantized: boolean,
    readonly dims: number,
    /** Longest input (special tokens included) the model accepts; longer texts are truncated or rejected. */
    readonly maxTokens: number,
    readonly pooling: Pooling,
    readonly tokenizerName: string,
    /** sha256 of tokenizer.json: a chunking made with another tokenizer is a different config. */
    readonly tokenizerHash: string,
    private readonly tokenizer: Tokenizer,
    private readonly session: OrtSession,
    private readonly Tensor: OrtTensorCtor,
    private readonly clsId: number,
    private readonly sepId: number,
    private readonly padId: number,
  ) {}

  /**
   * Whether a text's vector is independent of the other texts in its batch. The quantized export
   * quantizes activations with one scale per batch tensor (DynamicQuantizeLinear), so neighbours move
   * a vector by up to ~1e-2 in cosine; the fp32 model gives bit-identical vectors at any batching.
   */
  get batchInvariant(): boolean {
    return !this.quantized;
  }

  static async load(name: string = DEFAULT_EMBEDDER, options: LoadOptions = {}): Promise<Embedder> {
    const parsedName = ModelName.safeParse(name);
    if (!parsedName.success) throw new Error(formatZodError(`invalid embedding model name '${name}'`, parsedName.error));
    const parsedOpts = LoadOptions.safeParse(options);
    if (!parsedOpts.success) throw new Error(formatZodError('invalid Embedder.load options', parsedOpts.error));
    const { quantized } = parsedOpts.data;
    const root = parsedOpts.data.modelsDir ?? defaultModelsDir;
    const dir = path.join(root, name);
    const onnxFile = path.join('onnx', quantized ? 'model_quantized.onnx' : 'model.onnx');

    const required = ['config.json', 'tokenizer.json', 'tokenizer_config.json', onnxFile];
    const missing = required.filter((f) => !fs.existsSync(path.join(dir, f)));
    if (missing.length > 0) {
      const where = fs.existsSync(dir) ? `${dir} lacks ${missing.join(', ')}` : `${dir} does not exist`;
      const hint = quantized ? '' : ' --fp32';
      throw new ModelNotFoundError(
        `embedding model '${name}' (${quantized ? 'quantized' : 'fp32'}) not found: ${where}. ` +
          `Run: bash scripts/provision/model.sh${hint}` +
          (process.env.BAKEOFF_MODEL_DIR ? ' (or fix BAKEOFF_MODEL_DIR)' : ''),
      );
    }
    // Pooling, dimensions and input limit from the model's own files (manifest.json, 1_Pooling/config.json, ...).
    let descriptor;
    try {
      descriptor = readModelDescriptor(dir);
    } catch (err) {
      if (err instanceof ModelConfigError) throw new ModelConfigError(`embedding model '${name}': ${err.message}`);
      throw err;
    }

    const t = await loadTransformers();
    // Offline by construction: a missing file is an error, never a download.
    t.env.allowRemoteModels = false;
    t.env.allowLocalModels = true;
    t.env.localModelPath = root;
    const tokenizer = await t.AutoTokenizer.from_pretrained(name, { local_files_only: true });
    const model = (await t.AutoModel.from_pretrained(name, { quantized, local_files_only: true })) as unknown as {
      session: OrtSession;
    };

    const idOf = (token: string): number => {
      const ids = tokenizer.encode(token, null, { add_special_tokens: false });
      if (ids.length !== 1) throw new Error(`tokenizer of '${name}' has no single id for ${token}`);
      return ids[0];
    };
    const modelHash = sha256File(path.join(dir, onnxFile));
    const embedder = new Embedder(
      name,
      `${name}/${path.basename(onnxFile)}@${modelHash.slice(0, 12)}`,
      modelHash,
      quantized,
      descriptor.dims,
      descriptor.maxTokens,
      descriptor.pooling,
      name,
      sha256File(path.join(dir, 'tokenizer.json')),
      tokenizer,
      model.session,
      // transformers.js' Tensor wraps onnxruntime's, and its models feed it to session.run as is.
      t.Tensor as unknown as OrtTensorCtor,
      idOf(descriptor.clsToken),
      idOf(descriptor.sepToken),
      idOf(descriptor.padToken),
    );
    return embedder;
  }

  /** Token ids of `text` without [CLS]/[SEP]: what chunk sizes are measured in. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, null, { add_special_tokens: false });
  }

  countTokens(text: string): number {
    return this.encode(text).length;
  }

  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: true });
  }

  /** Tokens the model actually sees for `text`: its tokens plus [CLS] and [SEP]. */
  embeddingTokens(text: string): number {
    return this.countTokens(text) + 2;
  }

  /**
   * Tokenise and pad a batch the way embed() does ([CLS] ids [SEP], padded to the longest row).
   * Exposed so a benchmark can time rawForward() on the very batches the pipeline feeds the model.
   */
  tokenizeBatch(texts: readonly string[], { truncate = true }: { truncate?: boolean } = {}): TokenBatch {
    return this.padBatch(texts.map((text, i) => this.withSpecialTokens(text, i, truncate)));
  }

  /** One forward pass of the ONNX session on a pre-tokenised batch: the model's own cost, nothing else. */
  async rawForward(batch: TokenBatch): Promise<Float32Array> {
    const dims = [batch.size, batch.seqLen];
    const feeds: Record<string, OrtTensor> = {
      input_ids: new this.Tensor('int64', batch.inputIds, dims),
      attention_mask: new this.Tensor('int64', batch.attentionMask, dims),
    };
    if (this.session.inputNames.includes('token_type_ids')) {
      feeds.token_type_ids = new this.Tensor('int64', batch.tokenTypeIds, dims);
    }
    const out = await this.session.run(feeds);
    const hidden = out.last_hidden_state ?? Object.values(out)[0];
    const [b, s, h] = hidden.dims;
    if (b !== batch.size || s !== batch.seqLen || h !== this.dims) {
      throw new Error(`model output has shape [${hidden.dims.join(',')}], expected [${batch.size},${batch.seqLen},${this.dims}]`);
    }
    return hidden.data as Float32Array;
  }

  /**
   * Unit-length embeddings, one per text, in input order. Texts are batched by length; the same
   * texts with the same batchSize give bit-identical vectors (see batchInvariant for other batchings).
   */
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const parsed = EmbedOptions.safeParse(options);
    if (!parsed.success) throw new Error(formatZodError('invalid embed options', parsed.error));
    const { batchSize, truncate } = parsed.data;
    const ids = texts.map((text, i) => this.withSpecialTokens(text, i, truncate));
    // Batch texts of similar length together: padding is wasted compute, and chunk lengths vary.
    const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length || a - b);
    const result = new Array<Float32Array>(texts.length);
    for (let start = 0; start < order.length; start += batchSize) {
      const rows = order.slice(start, start + batchSize);
      const batch = this.padBatch(rows.map((r) => ids[r]));
      const hidden = await this.rawForward(batch);
      rows.forEach((r, k) => {
        result[r] = this.pool(hidden, batch, k);
      });
    }
    return result;
  }

  async embedOne(text: string): Promise<Float32Array> {
    const [v] = await this.embed([text], { batchSize: 1 });
    return v;
  }

  private withSpecialTokens(text: string, index: number, truncate: boolean): number[] {
    if (typeof text !== 'string') throw new Error(`text #${index} is not a string`);
    let body = this.encode(text);
    const budget = this.maxTokens - 2;
    if (body.length > budget) {
      if (!truncate) {
        throw new Error(`text #${index} has ${body.length + 2} embedding tokens, over the model's limit of ${this.maxTokens}`);
      }
      body = body.slice(0, budget);
    }
    return [this.clsId, ...body, this.sepId];
  }

  private padBatch(rows: readonly number[][]): TokenBatch {
    if (rows.length === 0) throw new Error('cannot tokenise an empty batch');
    const seqLen = Math.max(...rows.map((r) => r.length));
    const n = rows.length * seqLen;
    const inputIds = new BigInt64Array(n).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(n);
    rows.forEach((row, b) => {
      for (let j = 0; j < row.length; j++) {
        inputIds[b * seqLen + j] = BigInt(row[j]);
        attentionMask[b * seqLen + j] = 1n;
      }
    });
    return { size: rows.length, seqLen, inputIds, attentionMask, tokenTypeIds: new BigInt64Array(n) };
  }

  private pool(hidden: Float32Array, batch: TokenBatch, row: number): Float32Array {
    const d = this.dims;
    const acc = new Float64Array(d);
    const base = row * batch.seqLen * d;
    if (this.pooling === 'cls') {
      for (let k = 0; k < d; k++) acc[k] = hidden[base + k];
    } else {
      let count = 0;
      for (let j = 0; j < batch.seqLen; j++) {
        if (batch.attentionMask[row * batch.seqLen + j] === 0n) continue;
        count++;
        const off = base + j * d;
        for (let k = 0; k < d; k++) acc[k] += hidden[off + k];
      }
      for (let k = 0; k < d; k++) acc[k] /= count;
    }
    let sq = 0;
    for (let k = 0; k < d; k++) sq += acc[k] * acc[k];
    const norm = Math.sqrt(sq);
    if (!(norm > 0)) throw new Error(`embedding of batch row ${row} has zero or non-finite norm`);
    const out = new Float32Array(d);
    for (let k = 0; k < d; k++) out[k] = acc[k] / norm;
    assertUnitNorm(out);
    return out;
  }
}

/** The L2 invariant every stored and query vector must meet (probe: |‖v‖−1| < 1e-5). */
export function l2Norm(v: ArrayLike<number>): number {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
  return Math.sqrt(sq);
}

export function assertUnitNorm(v: ArrayLike<number>): void {
  const norm = l2Norm(v);
  if (!(Math.abs(norm - 1) < NORM_TOLERANCE)) throw new Error(`embedding norm ${norm} is not 1 within ${NORM_TOLERANCE}`);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`vectors differ in length: ${a.length} vs ${b.length}`);
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot / (l2Norm(a) * l2Norm(b));
}
