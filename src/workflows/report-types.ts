// What the data-plane steps report (ingest and evaluation), as the bakeoff status and reports carry
// them. A leaf module: no imports, so workflows/types.ts and activities/types.ts both depend on it
// and never on each other (issue 13).

/** What the shadowIngest activity reports (src/rag/ingest.ts's IngestReport is the richer in-process one). */
export interface ShadowIngestReport {
  table: string;
  ingestRunId: string;
  documents: number;
  chunks: number;
  duplicatesRemoved: number;
  /** duplicatesRemoved / (chunks + duplicatesRemoved). */
  dedupRate: number;
  /** FAISS index files (flat = truth, IVF = serving), when built. */
  index: { flat: string; ivf: string } | null;
  durationMs: number;
  /** Snapshot sha256 of the corpus read (src/rag/corpus-fingerprint.ts); absent in reports before it. */
  corpusSnapshot?: string;
}

/** The corpus a bakeoff judged, fingerprinted by the data plane right after the config was locked. */
export interface LockedCorpus {
  /** `faq` (the bundled FAQ) or a registered dataset's name. */
  dataset: string;
  /** sha256 over the sorted (doc id, content hash) lines: src/rag/corpus-fingerprint.ts. */
  snapshot: string;
  documents: number;
}

export interface LatencyPercentiles {
  p50: number;
  p95: number;
}

/** Values in [0,1] except latencies (milliseconds). */
export interface EvalReport {
  side: 'candidate' | 'baseline';
  table: string;
  cases: number;
  k: number;
  metrics: {
    hit_rate: number;
    recall: number;
    mrr: number;
    ndcg: number;
    f1: number;
    precision: number;
  };
  latencyMs: {
    encode: LatencyPercentiles;
    search: LatencyPercentiles;
    rerank: LatencyPercentiles;
    total: LatencyPercentiles;
  };
  /** Where the run's manifest (model ids, config_hash, dataset checksums, seed) was written. */
  manifest: string | null;
  /** The manifest in the artifact store (it names the per-case results by hash); absent on PGlite and older runs. */
  manifest_sha256?: string;
  /**
   * Per-case values of the gated metrics, so the gates pair candidate − baseline on the same cases.
   * Absent in reports from before paired gates (those are judged on the means, as they were).
   */
  perCase?: PerCaseScores;
  /**
   * Which metrics the case set supports (a registered dataset's cases; absent: the FAQ, every metric).
   * A metric listed as unsupported holds 0 and its gate is not applicable (src/workflows/paired-gates.ts).
   */
  caseSupport?: { caseSet: string; graded: boolean; unsupported: { metric: string; reason: string }[] };
  /**
   * Both sides' per-case latencies, timed case by case on one worker (the evaluatePair activity): the
   * offline latency gate pairs them. On the candidate's report of a paired evaluation only.
   */
  pairedLatency?: PairedLatency;
}

/** Per-case total latency (ms, 2 decimals) of both sides, in case-id order. */
export interface PairedLatency {
  caseIdsSha256: string;
  candidateTotalMs: number[];
  baselineTotalMs: number[];
  /** Cases in which the candidate was timed first (the order alternates case by case). */
  candidateFirst: number;
}

/** Compact per-case scores: arrays in case-id order (~80 kB for 5,000 cases). */
export interface PerCaseScores {
  /** sha256 of the sorted case ids ('\n'-joined; the manifest's case_ids_sha256): sides pair only if equal. */
  caseIdsSha256: string;
  /** 0/1 per case. */
  hit_rate: number[];
  /** Rounded to 4 decimals. */
  f1: number[];
  /** Rounded to 4 decimals. */
  precision: number[];
}
