// The registry's manifest of one dataset: where its corpus is (the spec), checksums of every input
// file, the corpus snapshot fingerprint, and what its labelled cases support. Written only after a
// validation pass found no problem; `bakeoff dataset verify` recomputes and compares it.
import { z } from 'zod';

export const DATASET_NAME = /^[a-z][a-z0-9_-]{0,39}$/;
/** The bundled FAQ dataset's name: not registrable. */
export const BUNDLED_DATASET = 'faq';

const Sha = z.string().regex(/^[0-9a-f]{64}$/);

export const DatasetSpec = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('beir'), dir: z.string().min(1) }),
  z.strictObject({ kind: z.literal('jsonl'), file: z.string().min(1), cases: z.string().min(1).optional() }),
  z.strictObject({ kind: z.literal('dir'), dir: z.string().min(1), cases: z.string().min(1).optional() }),
  /** dsn without its password (PGPASSWORD / ~/.pgpass supply it). */
  z.strictObject({ kind: z.literal('pg'), dsn: z.string().min(1), sql: z.string().min(1), cases: z.string().min(1).optional() }),
]);
export type DatasetSpec = z.infer<typeof DatasetSpec>;

export const FileChecksum = z.strictObject({ path: z.string(), sha256: Sha, bytes: z.number().int().nonnegative() });
export type FileChecksum = z.infer<typeof FileChecksum>;

export const CasesSummary = z.strictObject({
  /** Normalised cases beside the manifest (one LabelledCase a line). */
  file: z.literal('cases.jsonl'),
  sha256: Sha,
  total: z.number().int().nonnegative(),
  splits: z.record(z.string(), z.number().int().nonnegative()),
  /** The split a bare reference and the default case set use: dev, else test, else the first. */
  default_split: z.string(),
  split_rule: z.string(),
  graded: z.boolean(),
  multi_relevant: z.boolean(),
  cases_with_answers: z.number().int().nonnegative(),
  metrics: z.array(z.string()),
});
export type CasesSummary = z.infer<typeof CasesSummary>;

export const RegistryManifest = z.strictObject({
  format: z.literal('bakeoff-dataset/1'),
  name: z.string().regex(DATASET_NAME),
  created: z.string(),
  spec: DatasetSpec,
  files: z.array(FileChecksum),
  corpus: z.strictObject({ docs: z.number().int().positive(), snapshot_sha256: Sha, bytes: z.number().int().nonnegative() }),
  cases: CasesSummary.nullable(),
});
export type RegistryManifest = z.infer<typeof RegistryManifest>;
