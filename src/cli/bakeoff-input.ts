// The bakeoff input as an operator gives it: a JSON or YAML file (a whole input, or just the candidate
// config), with flags on top. What the operator may leave out is filled in here — the tokenizer
// identity from the local model (so nobody types a sha256), requestedBy/created_by from --by, the
// eval case set — and the result is validated with the workflow's own schema before anything starts.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { parseBakeoffInput, BakeoffInputError } from '../client/bakeoff';
import { defaultShadowFor, isShadowOff, withShadowDefault } from '../client/shadow-defaults';
import { modelsDir } from '../platform/paths';
import { DEFAULT_EMBEDDER } from '../rag/embed';
import { parseDuration } from '../workflows/duration';
import type { BakeoffInput } from '../workflows/messages';
import { MAX_INGEST_SHARDS } from '../workflows/shard-ingest';
import { CliError } from './errors';

/** Flags of `start` / `dry-run` that shape the input (all optional; the file may give them). */
export interface InputFlags {
  config?: string;
  chunkSize?: string;
  overlap?: string;
  jaccard?: string;
  prefixPolicy?: string;
  embedder?: string;
  chunkVersion?: string;
  lane?: string;
  expectBaselineHash?: string;
  evalCases?: string;
  k?: string;
  ramp?: string;
  checkInterval?: string;
  operatorDeadline?: string;
  dryRunSoak?: string;
  /** Shadow stage soak, or "off" (default: src/client/shadow-defaults.ts). */
  shadow?: string;
  webhook?: string;
  /** Shards of the shadow ingest run at once on the data workers (workflow input ingestParallelism). */
  ingestParallelism?: string;
  by: string;
}

/** --ingest-parallelism: a whole number 1..64, checked here so the error names the flag. */
const IngestParallelismFlag = z.string().regex(/^\s*\d+\s*$/).transform(Number).pipe(z.int().min(1).max(MAX_INGEST_SHARDS));

function ingestParallelismFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const r = IngestParallelismFlag.safeParse(value);
  if (!r.success) throw new CliError(`--ingest-parallelism ${JSON.stringify(value)}: must be a whole number from 1 to ${MAX_INGEST_SHARDS}`);
  return r.data;
}

const CANDIDATE_KEYS = ['chunk_size', 'overlap_ratio', 'jaccard_threshold', 'prefix_policy', 'chunk_version'];

/** Reads a JSON/YAML file into a plain value, with the file named in every error. */
export function readStructuredFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)}`);
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new CliError(`${file}: not valid JSON: ${(err as Error).message}`);
    }
  }
  // YAML is a superset of JSON: anything not named .json goes through the YAML parser.
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos?.[0] ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    throw new CliError(`${file}: not valid YAML${where}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  return doc.toJS();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new CliError(`--${name} ${JSON.stringify(value)}: must be a number`);
  return n;
}

function durationFlag(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const r = parseDuration(value);
  if (!r.ok) throw new CliError(`--${name}: ${r.reason}`);
  return value;
}

/** "10:16h,50:16h,100:16h" → [{percent: 10, soak: '16h'}, ...]. */
export function parseRampFlag(value: string): Array<{ percent: number; soak: string }> {
  return value.split(',').map((part, i) => {
    const m = /^\s*(\d+)\s*%?\s*[:@]\s*(\S+)\s*$/.exec(part);
    if (!m) throw new CliError(`--ramp stage ${i + 1} ${JSON.stringify(part)}: write PERCENT:SOAK, e.g. 10:16h,50:16h,100:16h`);
    const soak = durationFlag('ramp', m[2])!;
    return { percent: Number(m[1]), soak };
  });
}

/** sha256 of the model's tokenizer.json: the identity the data plane checks a config against. */
export function localTokenizerHash(embedder: string, dir: string = modelsDir): string {
  const file = path.join(dir, embedder, 'tokenizer.json');
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    throw new CliError(
      `candidate.tokenizer_hash is not given and ${file} does not exist: give tokenizer_hash in the config, ` +
        `or provision the model (bash scripts/provision/model.sh; BAKEOFF_MODEL_DIR points elsewhere)`,
    );
  }
}

/** Builds the raw input (file + flags + fills); returns it unvalidated so --print-input can show it. */
export function buildRawInput(flags: InputFlags, extra: { dryRun?: boolean } = {}): Record<string, unknown> {
  let raw: Record<string, unknown> = {};
  if (flags.config) {
    const value = readStructuredFile(flags.config);
    if (!isObject(value)) throw new CliError(`${flags.config}: expected a mapping (an object), got ${Array.isArray(value) ? 'a list' : typeof value}`);
    // A bare candidate config is accepted too: it is what most people have at hand.
    raw = 'candidate' in value || !CANDIDATE_KEYS.some((k) => k in value) ? { ...value } : { candidate: value };
  }
  const candidate: Record<string, unknown> = isObject(raw.candidate) ? { ...raw.candidate } : {};
  const set = (key: string, v: unknown) => {
    if (v !== undefined) candidate[key] = v;
  };
  set('chunk_size', numberFlag('chunk-size', flags.chunkSize));
  set('overlap_ratio', numberFlag('overlap', flags.overlap));
  set('jaccard_threshold', numberFlag('jaccard', flags.jaccard));
  set('prefix_policy', flags.prefixPolicy);
  set('embedder', flags.embedder);
  set('chunk_version', flags.chunkVersion);
  if (Object.keys(candidate).length === 0) {
    throw new CliError('no candidate config: give --config <file> (JSON or YAML) or the candidate flags (--chunk-size, --overlap, --jaccard, --prefix-policy, --chunk-version)');
  }
  candidate.embedder ??= DEFAULT_EMBEDDER;
  if (typeof candidate.embedder === 'string') {
    candidate.tokenizer ??= candidate.embedder;
    candidate.tokenizer_hash ??= localTokenizerHash(candidate.embedder);
  }
  candidate.created_by ??= flags.by;
  raw.candidate = candidate;

  raw.requestedBy ??= flags.by;
  const baseline: Record<string, unknown> = isObject(raw.baseline) ? { ...raw.baseline } : {};
  if (flags.lane !== undefined) baseline.lane = flags.lane;
  if (flags.expectBaselineHash !== undefined) baseline.expectConfigHash = flags.expectBaselineHash;
  if (Object.keys(baseline).length > 0) raw.baseline = baseline;

  const evalCases: Record<string, unknown> = isObject(raw.evalCases) ? { ...raw.evalCases } : {};
  if (flags.evalCases !== undefined) evalCases.ref = flags.evalCases;
  if (flags.k !== undefined) evalCases.k = numberFlag('k', flags.k);
  evalCases.ref ??= 'faq:dev';
  raw.evalCases = evalCases;
  // A registered dataset's cases are judged on its own corpus: NAME of --eval-cases NAME:split is the
  // candidate's dataset unless the config names one (faq, the bundled default, leaves it absent).
  const refName = typeof evalCases.ref === 'string' ? /^([a-z][a-z0-9_-]{0,39}):/.exec(evalCases.ref)?.[1] : undefined;
  if (refName !== undefined && refName !== 'faq') {
    candidate.dataset ??= refName;
    if (candidate.dataset !== refName) throw new CliError(`--eval-cases ${String(evalCases.ref)}: the candidate's dataset is ${JSON.stringify(candidate.dataset)}; cases and corpus must be the same dataset`);
  }

  if (flags.ramp !== undefined) raw.ramp = parseRampFlag(flags.ramp);
  if (flags.checkInterval !== undefined) raw.checkInterval = durationFlag('check-interval', flags.checkInterval);
  if (flags.operatorDeadline !== undefined) raw.operatorDeadline = durationFlag('operator-deadline', flags.operatorDeadline);
  if (flags.ingestParallelism !== undefined) raw.ingestParallelism = ingestParallelismFlag(flags.ingestParallelism);
  if (flags.dryRunSoak !== undefined) raw.dryRunSoak = durationFlag('dry-run-soak', flags.dryRunSoak);
  // A name is resolved by the worker (BAKEOFF_WEBHOOK_<NAME>); a URL still works but lands in history.
  if (flags.webhook !== undefined) raw[/^[a-z][a-z0-9+.-]*:/i.test(flags.webhook) ? 'notifyWebhookUrl' : 'notifyWebhook'] = flags.webhook;
  if (extra.dryRun !== undefined) raw.dryRun = extra.dryRun;
  if (flags.shadow !== undefined) {
    raw.shadow = isShadowOff(flags.shadow) ? false : { ...(isObject(raw.shadow) ? raw.shadow : defaultShadowFor(raw.dryRun === true)), soak: durationFlag('shadow', flags.shadow) };
  }
  // The shadow stage is on unless the file or --shadow off says otherwise (issue 14).
  return withShadowDefault(raw);
}

/** Validates with the workflow's schema; the file (if any) is named before the "field: message" lines. */
export function validateInput(raw: Record<string, unknown>, file?: string): BakeoffInput {
  try {
    return parseBakeoffInput(raw);
  } catch (err) {
    if (err instanceof BakeoffInputError) {
      const lines = err.message.split('\n').slice(1);
      throw new CliError(`${file ? `${file}: ` : ''}invalid bakeoff input:\n${lines.map((l) => `  ${l}`).join('\n')}`);
    }
    throw err;
  }
}
