// Which corpus a locked config was judged on. `dataset` (absent = the bundled FAQ) names a registered
// dataset; at lock time its registered snapshot fingerprint is recorded as `corpus_snapshot`, and
// ingest refuses a registered corpus whose snapshot differs from the locked one. A bakeoff also
// fingerprints the corpus itself on the data plane (fingerprintCorpus, the lockCorpus activity), so
// the bundled FAQ is locked too and ingest refuses any corpus that changed after the lock.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LockedConfig } from '../rag/config';
import { CorpusFingerprinter } from '../rag/corpus-fingerprint';
import { CorpusChangedError } from '../rag/ingest';
import type { LockedCorpus } from '../workflows/report-types';
import { BUNDLED_DATASET } from './registry-manifest';
import { readManifest, registryDir } from './registry';
import { registeredCorpusBatches } from './registry-resolve';

/** The registered dataset a config's chunks come from; null: the bundled FAQ. */
export function registeredDatasetOf(locked: Pick<LockedConfig, 'dataset'>): string | null {
  return locked.dataset === undefined || locked.dataset === BUNDLED_DATASET ? null : locked.dataset;
}

/** The locked config with its registered corpus snapshot recorded (unchanged for the FAQ). Throws RegistryError for an unknown dataset. */
export function lockCorpusSnapshot(locked: LockedConfig, home: string): LockedConfig {
  const name = registeredDatasetOf(locked);
  if (name === null) return locked;
  return { ...locked, corpus_snapshot: readManifest(home, name).corpus.snapshot_sha256 };
}

/**
 * lockCorpusSnapshot where this home has registered the dataset; else the config unchanged. The lockConfig
 * activity runs on a control worker, which may hold no datasets: the data plane's lockCorpus then
 * fingerprints the corpus (and refuses a dataset registered nowhere it looks).
 */
export function lockCorpusSnapshotIfRegistered(locked: LockedConfig, home: string): LockedConfig {
  const name = registeredDatasetOf(locked);
  if (name === null || !fs.existsSync(path.join(registryDir(home), name, 'manifest.json'))) return locked;
  return lockCorpusSnapshot(locked, home);
}

/** null when the registered corpus is the locked one; else the one-line refusal. */
export function corpusSnapshotMismatch(locked: LockedConfig, registered: string): string | null {
  const name = registeredDatasetOf(locked);
  if (name === null || locked.corpus_snapshot === undefined || locked.corpus_snapshot === registered) return null;
  return `dataset ${name} changed since the bakeoff locked it: registered snapshot ${registered.slice(0, 16)}…, locked ${locked.corpus_snapshot.slice(0, 16)}… (config ${locked.config_hash.slice(0, 16)}…); lock a new bakeoff on the new snapshot`;
}

export interface FingerprintCorpusOptions {
  /** The bundled FAQ's documents, as the data plane ingests them (loaded only when the config names no dataset). */
  faqDocs: () => Promise<readonly unknown[]>;
  /** The bakeoff home whose registry holds the config's dataset. */
  home: string;
  /** Documents read so far, every batch (an activity heartbeats with it). */
  onProgress?: (documents: number) => void;
}

const FAQ_PROGRESS_EVERY = 500;

/**
 * The snapshot fingerprint of the corpus `locked` will ingest, computed exactly as ingest's fingerprint
 * pass does (so ingest can demand it). A registered corpus is streamed batch by batch, and must still be
 * its registration (RegistryError otherwise) and the snapshot the config recorded, if any (CorpusChangedError).
 */
export async function fingerprintCorpus(locked: LockedConfig, o: FingerprintCorpusOptions): Promise<LockedCorpus> {
  const name = registeredDatasetOf(locked);
  const f = new CorpusFingerprinter();
  let read = 0;
  if (name === null) {
    for (const doc of await o.faqDocs()) {
      f.addDocument(doc);
      if (++read % FAQ_PROGRESS_EVERY === 0) o.onProgress?.(read);
    }
  } else {
    for await (const batch of registeredCorpusBatches(o.home, name)) {
      for (const doc of batch) f.addDocument(doc);
      o.onProgress?.((read += batch.length));
    }
  }
  const { snapshot, documents } = f.digest();
  if (name !== null && locked.corpus_snapshot !== undefined && locked.corpus_snapshot !== snapshot) {
    throw new CorpusChangedError(corpusSnapshotMismatch(locked, snapshot)!);
  }
  return { dataset: name ?? BUNDLED_DATASET, snapshot, documents };
}

