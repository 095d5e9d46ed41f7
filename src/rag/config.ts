// The locked retrieval configuration: what a bakeoff rolls out. Validated once at the boundary,
// hashed canonically so every chunk, table and run can be traced back to exactly these settings.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { bm25BField, bm25K1Field, lexicalRankerField } from './lexical-ranker';

/** Hard caps (DESIGN §1). A config outside them is a user mistake, never retried. */
export const GUARDRAILS = {
  maxChunkTokens: 1000,
  maxOverlapRatio: 0.5,
  minJaccardThreshold: 0.5,
  maxEmbeddingTokens: 1024,
} as const;

/** chunk_version becomes part of a table name, so it is restricted to identifier-safe characters. */
export const CHUNK_VERSION_PATTERN = /^v[0-9a-z_]{1,40}$/;
export const SHADOW_TABLE_PREFIX = 'document_chunks_';
/** PostgreSQL truncates identifiers beyond 63 bytes; a shadow table name never relies on that. */
const MAX_IDENTIFIER = 63;

/**
 * The shadow table of a config: `document_chunks_<chunk_version>_<first 8 hex of config_hash>`, so two
 * configs that share a chunk_version (a candidate reusing the live one's) never share a table. A long
 * chunk_version is cut to keep the name within 63 characters; the hash still tells configs apart.
 * Without a hash: the name configs locked before the hash was part of it carry (document_chunks_<chunk_version>).
 */
export function shadowTableFor(chunkVersion: string, configHash?: string): string {
  if (!CHUNK_VERSION_PATTERN.test(chunkVersion)) {
    throw new ConfigValidationError([`chunk_version ${JSON.stringify(chunkVersion)} must match ${CHUNK_VERSION_PATTERN}`]);
  }
  if (configHash === undefined) return `${SHADOW_TABLE_PREFIX}${chunkVersion}`;
  const suffix = `_${configHash.slice(0, 8)}`;
  return `${SHADOW_TABLE_PREFIX}${chunkVersion.slice(0, MAX_IDENTIFIER - SHADOW_TABLE_PREFIX.length - suffix.length)}${suffix}`;
}

/** Thrown for every invalid config; `issues` lists one readable sentence per problem. */
export class ConfigValidationError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid retrieval config: ${issues.join('; ')}`);
    this.name = 'ConfigValidationError';
  }
}

const chunkSize = z
  .number({ error: (iss) => `chunk_size must be a number, got ${JSON.stringify(iss.input)}` })
  .int({ error: (iss) => `chunk_size ${String(iss.input)} must be a whole number of tokens` })
  .min(16, { error: (iss) => `chunk_size ${String(iss.input)} is below the minimum of 16 tokens` })
  .max(GUARDRAILS.maxChunkTokens, {
    error: (iss) => `chunk_size ${String(iss.input)} exceeds the cap of ${GUARDRAILS.maxChunkTokens} tokens`,
  });

const overlapRatio = z
  .number({ error: (iss) => `overlap_ratio must be a number, got ${JSON.stringify(iss.input)}` })
  .min(0, { error: (iss) => `overlap_ratio ${String(iss.input)} is below the minimum of 0` })
  .max(GUARDRAILS.maxOverlapRatio, {
    error: (iss) => `overlap_ratio ${String(iss.input)} exceeds the cap of ${GUARDRAILS.maxOverlapRatio}`,
  });

const jaccardThreshold = z
  .number({ error: (iss) => `jaccard_threshold must be a number, got ${JSON.stringify(iss.input)}` })
  .min(GUARDRAILS.minJaccardThreshold, {
    error: (iss) =>
      `jaccard_threshold ${String(iss.input)} is below the floor of ${GUARDRAILS.minJaccardThreshold} (lower would merge unrelated chunks)`,
  })
  .max(1, { error: (iss) => `jaccard_threshold ${String(iss.input)} exceeds the maximum of 1` });

// 'none' exists for the baseline ("no prefix"); the seeds' candidates use A or B.
const prefixPolicy = z.enum(['A', 'B', 'none'], {
  error: (iss) =>
    `prefix_policy must be "A" (prefix in embedding_text only), "B" (in both) or "none", got ${JSON.stringify(iss.input)}`,
});

const name = (field: string) =>
  z
    .string({ error: (iss) => `${field} must be a string, got ${JSON.stringify(iss.input)}` })
    .min(1, { error: () => `${field} must not be empty` })
    .max(200, { error: () => `${field} must be at most 200 characters` });

const chunkVersion = z
  .string({ error: (iss) => `chunk_version must be a string, got ${JSON.stringify(iss.input)}` })
  .regex(CHUNK_VERSION_PATTERN, {
    error: (iss) => `chunk_version ${JSON.stringify(iss.input)} must match ${CHUNK_VERSION_PATTERN} (it names a table)`,
  });

const baselineMetrics = z.record(z.string(), z.number().finite());

/** What a user (CLI, workflow input) supplies. Unknown keys are rejected: a typo must not be ignored. */
export const ConfigCandidateSchema = z.strictObject({
  chunk_size: chunkSize,
  overlap_ratio: overlapRatio,
  jaccard_threshold: jaccardThreshold,
  prefix_policy: prefixPolicy,
  embedder: name('embedder'),
  tokenizer: name('tokenizer'),
  tokenizer_hash: z
    .string({ error: (iss) => `tokenizer_hash must be a string, got ${JSON.stringify(iss.input)}` })
    .regex(/^[0-9a-f]{8,128}$/, { error: (iss) => `tokenizer_hash ${JSON.stringify(iss.input)} must be lowercase hex (8-128 chars)` }),
  chunk_version: chunkVersion,
  created_by: name('created_by'),
  created_at: z.iso.datetime({ error: (iss) => `created_at ${JSON.stringify(iss.input)} must be an ISO-8601 UTC timestamp` }).optional(),
  baseline_metrics: baselineMetrics.optional(),
  is_production: z.boolean({ error: () => 'is_production must be true or false' }).optional(),
  // Absent = ts_rank_cd, the ranker every config locked before the field existed was served with.
  lexical_ranker: lexicalRankerField.optional(),
  bm25_k1: bm25K1Field.optional(),
  bm25_b: bm25BField.optional(),
  // The corpus the chunks come from: a registered dataset (src/data/registry.ts). Absent = the bundled
  // FAQ, which every config locked before the field existed was ingested from.
  dataset: z
    .string({ error: (iss) => `dataset must be a string, got ${JSON.stringify(iss.input)}` })
    .regex(/^[a-z][a-z0-9_-]{0,39}$/, { error: (iss) => `dataset ${JSON.stringify(iss.input)} must be a registered dataset name (see: bakeoff dataset list)` })
    .optional(),
});
export type ConfigCandidate = z.input<typeof ConfigCandidateSchema>;

/** The fields that decide what the chunks are and where they live; config_hash covers exactly these. */
export const SEMANTIC_FIELDS = [
  'chunk_size',
  'overlap_ratio',
  'jaccard_threshold',
  'prefix_policy',
  'embedder',
  'tokenizer',
  'tokenizer_hash',
  'chunk_version',
  // The lexical ranker decides the table's statistics and answers. canonicalJson drops absent fields,
  // so the hash of every config locked before these existed is unchanged.
  'lexical_ranker',
  'bm25_k1',
  'bm25_b',
  // Absent (the FAQ) drops out of the hash like the fields above.
  'dataset',
] as const;

export const LockedConfigSchema = ConfigCandidateSchema.extend({
  created_at: z.iso.datetime(),
  baseline_metrics: baselineMetrics.optional(),
  is_production: z.boolean(),
  config_hash: z.string().regex(/^[0-9a-f]{64}$/, { error: () => 'config_hash must be 64 hex characters (sha256)' }),
  ingest_run_id: z.string(),
  shadow_table: z.string(),
  // The registered corpus snapshot (sha256) at lock time; not hashed: it records what the config
  // was judged on, and ingest refuses a corpus that differs. Absent: locked before it existed, or the FAQ.
  corpus_snapshot: z.string().regex(/^[0-9a-f]{64}$/, { error: () => 'corpus_snapshot must be 64 hex characters (sha256)' }).optional(),
})
  .strict()
  .superRefine((c, ctx) => {
    // A stored config must be self-consistent: derived fields are recomputed and compared.
    const hash = computeConfigHash(c);
    if (c.config_hash !== hash) {
      ctx.addIssue({ code: 'custom', path: ['config_hash'], message: `config_hash ${c.config_hash} does not match the semantic fields (expected ${hash})` });
    }
    const runId = ingestRunIdFor(c.chunk_version, c.config_hash);
    if (c.ingest_run_id !== runId) {
      ctx.addIssue({ code: 'custom', path: ['ingest_run_id'], message: `ingest_run_id ${c.ingest_run_id} must be ${runId}` });
    }
    // Configs locked before the hash was in the name (recorded in running bakeoffs' histories) keep theirs.
    const table = CHUNK_VERSION_PATTERN.test(c.chunk_version) ? shadowTableFor(c.chunk_version, c.config_hash) : '(a valid chunk_version first)';
    if (c.shadow_table !== table && c.shadow_table !== `${SHADOW_TABLE_PREFIX}${c.chunk_version}`) {
      ctx.addIssue({ code: 'custom', path: ['shadow_table'], message: `shadow_table ${c.shadow_table} must be ${table}` });
    }
  });
export type LockedConfig = z.output<typeof LockedConfigSchema>;

/** JSON with object keys sorted at every level: the same value always serialises to the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function computeConfigHash(c: Pick<LockedConfig, (typeof SEMANTIC_FIELDS)[number]>): string {
  const semantic: Record<string, unknown> = {};
  for (const f of SEMANTIC_FIELDS) semantic[f] = c[f];
  return createHash('sha256').update(canonicalJson(semantic)).digest('hex');
}

export function ingestRunIdFor(chunkVersion: string, configHash: string): string {
  return `${chunkVersion}-${configHash.slice(0, 8)}`;
}

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const field = i.path.join('.');
    if (i.code === 'unrecognized_keys') return `unknown field(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')} (allowed: ${Object.keys(ConfigCandidateSchema.shape).join(', ')})`;
    return field && !i.message.startsWith(field) ? `${field}: ${i.message}` : i.message;
  });
}

/**
 * Validates a candidate and derives config_hash, ingest_run_id and shadow_table.
 * Pure apart from `now`, which only fills created_at when the candidate has none (it is not hashed).
 */
export function lockConfig(candidate: unknown, now: Date = new Date()): LockedConfig {
  const parsed = ConfigCandidateSchema.safeParse(candidate);
  if (!parsed.success) throw new ConfigValidationError(issuesOf(parsed.error));
  const c = parsed.data;
  const config_hash = computeConfigHash(c);
  return {
    ...c,
    created_at: c.created_at ?? now.toISOString(),
    is_production: c.is_production ?? false,
    config_hash,
    ingest_run_id: ingestRunIdFor(c.chunk_version, config_hash),
    shadow_table: shadowTableFor(c.chunk_version, config_hash),
  };
}

/** Re-validates a config read back from storage or a workflow payload. */
export function parseLockedConfig(value: unknown): LockedConfig {
  const parsed = LockedConfigSchema.safeParse(value);
  if (!parsed.success) throw new ConfigValidationError(issuesOf(parsed.error));
  return parsed.data;
}

/** Tokenizer identity as the embedder reports it; filled into the candidate by the caller. */
export interface TokenizerIdentity {
  embedder: string;
  tokenizer: string;
  tokenizer_hash: string;
}

/** The seeds' candidate (DESIGN §1): 450 tokens, 10 % overlap, near-dup removal at J ≥ 0.8, prefix policy A. */
export function defaultCandidate(id: TokenizerIdentity, chunk_version = 'v450_o10_j80_a', created_by = 'bakeoff'): ConfigCandidate {
  return { chunk_size: 450, overlap_ratio: 0.1, jaccard_threshold: 0.8, prefix_policy: 'A', lexical_ranker: 'bm25', ...id, chunk_version, created_by };
}

/**
 * The baseline the candidate is judged against: 512 tokens, no overlap, no prefix, no near-dup removal.
 * "No dedup" is jaccard_threshold 1.0: only chunks whose shingle sets are identical (verbatim repeats
 * up to case and punctuation) are dropped. The guardrail forbids switching dedup off entirely, and a
 * verbatim repeat carries no retrieval signal, so this is the closest valid equivalent.
 */
export function defaultBaseline(id: TokenizerIdentity, chunk_version = 'v512_o0_nodedup', created_by = 'bakeoff'): ConfigCandidate {
  return { chunk_size: 512, overlap_ratio: 0, jaccard_threshold: 1, prefix_policy: 'none', lexical_ranker: 'bm25', ...id, chunk_version, created_by };
}
