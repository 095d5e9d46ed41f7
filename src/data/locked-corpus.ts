// Which corpus a locked config was judged on. `dataset` (absent = the bundled FAQ) names a registered
// dataset; at lock time its registered snapshot fingerprint is recorded as `corpus_snapshot`, and
// ingest refuses a registered corpus whose snapshot differs from the locked one.
import type { LockedConfig } from '../rag/config';
import { BUNDLED_DATASET } from './registry-manifest';
import { readManifest } from './registry';

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

/** null when the registered corpus is the locked one; else the one-line refusal. */
export function corpusSnapshotMismatch(locked: LockedConfig, registered: string): string | null {
  const name = registeredDatasetOf(locked);
  if (name === null || locked.corpus_snapshot === undefined || locked.corpus_snapshot === registered) return null;
  return `dataset ${name} changed since the bakeoff locked it: registered snapshot ${registered.slice(0, 16)}…, locked ${locked.corpus_snapshot.slice(0, 16)}… (config ${locked.config_hash.slice(0, 16)}…); lock a new bakeoff on the new snapshot`;
}
