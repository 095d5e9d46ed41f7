// What an embedding model directory says about itself: pooling, output dimensions, input limit and
// special tokens, read from the model's own config files so any transformers.js / sentence-transformers
// export works, not only the two provisioned models. Sources, in order of authority:
//   manifest.json               written by scripts/provision/model.sh (pooling, dims, maxTokens)
//   1_Pooling/config.json       sentence-transformers layout (pooling_mode_*, word_embedding_dimension)
//   sentence_bert_config.json   sentence-transformers (max_seq_length)
//   config.json                 hidden_size, max_position_embeddings
//   tokenizer_config.json       model_max_length, cls/sep/pad tokens
// Every problem is one line naming the file and the field.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

export type Pooling = 'mean' | 'cls';

export interface ModelDescriptor {
  pooling: Pooling;
  dims: number;
  maxTokens: number;
  clsToken: string;
  sepToken: string;
  padToken: string;
  /** Which file each value came from (for `bakeoff` messages and tests). */
  sources: { pooling: string; dims: string; maxTokens: string };
}

export class ModelConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelConfigError';
  }
}

// HF writes 1e30 into model_max_length when the tokenizer itself has no limit: not a real bound.
const UNSET_MAX_LENGTH = 1_000_000;

const PositiveInt = z.number().int().positive();
const TokenSpec = z.union([z.string().min(1), z.object({ content: z.string().min(1) }).transform((t) => t.content)]);

const Manifest = z.object({
  pooling: z.enum(['mean', 'cls']).optional(),
  dims: PositiveInt.optional(),
  maxTokens: PositiveInt.optional(),
});
const ModelConfig = z.object({ hidden_size: PositiveInt.optional(), max_position_embeddings: PositiveInt.optional() });
const TokenizerConfig = z.object({
  model_max_length: z.number().positive().optional(),
  cls_token: TokenSpec.optional(),
  sep_token: TokenSpec.optional(),
  pad_token: TokenSpec.optional(),
});
const PoolingConfig = z.object({
  word_embedding_dimension: PositiveInt.optional(),
  pooling_mode_cls_token: z.boolean().optional(),
  pooling_mode_mean_tokens: z.boolean().optional(),
  pooling_mode_max_tokens: z.boolean().optional(),
  pooling_mode_mean_sqrt_len_tokens: z.boolean().optional(),
  pooling_mode_weightedmean_tokens: z.boolean().optional(),
  pooling_mode_lasttoken: z.boolean().optional(),
});
const SentenceBertConfig = z.object({ max_seq_length: PositiveInt.optional() });

function readJson<S extends z.ZodType>(dir: string, file: string, schema: S, required: boolean): z.output<S> | null {
  const full = path.join(dir, file);
  if (!fs.existsSync(full)) {
    if (required) throw new ModelConfigError(`${full}: missing`);
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(full, 'utf8'));
  } catch (err) {
    throw new ModelConfigError(`${full}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelConfigError(`${full}: field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads a model directory's description; throws ModelConfigError (one line: file and field) when it cannot. */
export function readModelDescriptor(dir: string): ModelDescriptor {
  const manifest = readJson(dir, 'manifest.json', Manifest, false);
  const config = readJson(dir, 'config.json', ModelConfig, true)!;
  const tokConfig = readJson(dir, 'tokenizer_config.json', TokenizerConfig, true)!;
  const poolingFile = path.join('1_Pooling', 'config.json');
  const poolingConfig = readJson(dir, poolingFile, PoolingConfig, false);
  const sbert = readJson(dir, 'sentence_bert_config.json', SentenceBertConfig, false);

  let pooling: Pooling;
  let poolingSource: string;
  if (manifest?.pooling) {
    pooling = manifest.pooling;
    poolingSource = 'manifest.json';
  } else if (poolingConfig) {
    const on = Object.entries(poolingConfig).filter(([k, v]) => k.startsWith('pooling_mode_') && v === true).map(([k]) => k);
    if (on.length !== 1) {
      throw new ModelConfigError(
        `${path.join(dir, poolingFile)}: field pooling_mode_*: ${on.length === 0 ? 'no pooling mode is true' : `several are true (${on.join(', ')})`}; exactly one of pooling_mode_mean_tokens, pooling_mode_cls_token must be`,
      );
    }
    if (on[0] === 'pooling_mode_mean_tokens') pooling = 'mean';
    else if (on[0] === 'pooling_mode_cls_token') pooling = 'cls';
    else throw new ModelConfigError(`${path.join(dir, poolingFile)}: field ${on[0]}: not supported (only pooling_mode_mean_tokens or pooling_mode_cls_token)`);
    poolingSource = poolingFile;
  } else {
    throw new ModelConfigError(
      `${path.join(dir, poolingFile)}: missing, and no manifest.json names the pooling: add it (sentence-transformers layout) with pooling_mode_mean_tokens or pooling_mode_cls_token true`,
    );
  }

  const dims = manifest?.dims ?? config.hidden_size;
  if (dims === undefined) throw new ModelConfigError(`${path.join(dir, 'config.json')}: field hidden_size: missing (the model's embedding dimension)`);
  const dimsSource = manifest?.dims !== undefined ? 'manifest.json' : 'config.json';
  for (const [file, field, value] of [
    ['config.json', 'hidden_size', config.hidden_size],
    [poolingFile, 'word_embedding_dimension', poolingConfig?.word_embedding_dimension],
  ] as const) {
    if (value !== undefined && value !== dims) throw new ModelConfigError(`${path.join(dir, file)}: field ${field}: ${value}, but ${dimsSource} says ${dims} dimensions`);
  }

  const limits: Array<[string, number]> = [];
  if (manifest?.maxTokens !== undefined) limits.push(['manifest.json', manifest.maxTokens]);
  if (sbert?.max_seq_length !== undefined) limits.push(['sentence_bert_config.json', sbert.max_seq_length]);
  if (tokConfig.model_max_length !== undefined && tokConfig.model_max_length < UNSET_MAX_LENGTH) limits.push(['tokenizer_config.json', Math.floor(tokConfig.model_max_length)]);
  if (config.max_position_embeddings !== undefined) limits.push(['config.json', config.max_position_embeddings]);
  if (limits.length === 0) {
    throw new ModelConfigError(
      `${path.join(dir, 'tokenizer_config.json')}: field model_max_length: missing (and config.json has no max_position_embeddings, no sentence_bert_config.json max_seq_length): the model's input limit is unknown`,
    );
  }
  // The tightest limit wins: a sentence-transformers model trained at 256 tokens says so only in its own file.
  const [maxSource, maxTokens] = limits.reduce((a, b) => (b[1] < a[1] ? b : a));

  return {
    pooling,
    dims,
    maxTokens,
    clsToken: tokConfig.cls_token ?? '[CLS]',
    sepToken: tokConfig.sep_token ?? '[SEP]',
    padToken: tokConfig.pad_token ?? '[PAD]',
    sources: { pooling: poolingSource, dims: dimsSource, maxTokens: maxSource },
  };
}
