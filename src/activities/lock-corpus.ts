// The lockCorpus activity (data queue): fingerprints the corpus a locked config will ingest — the
// bundled FAQ as this data worker loaded it, or a registered dataset streamed from this worker's
// registry — so the bakeoff records which corpus it judged even when the control worker has no copy.
// The workflow stores the snapshot as locked.corpus_snapshot; ingest then refuses any other corpus.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { fingerprintCorpus } from '../data/locked-corpus';
import { RegistryError } from '../data/registry';
import { SourceError } from '../data/sources/types';
import { CorpusChangedError } from '../rag/ingest';
import { lockedOrFail, parseInput } from './activity-input';
import type { DataPlane } from './data-plane';
import { heartbeat } from './heartbeat';
import type { LockCorpusInput, LockedCorpus } from './types';

const LockCorpusInputSchema = z.strictObject({ locked: z.unknown() });

export async function lockCorpus(plane: Pick<DataPlane, 'dataset' | 'home'>, raw: LockCorpusInput): Promise<LockedCorpus> {
  const { locked: rawLocked } = parseInput(LockCorpusInputSchema, raw, 'lockCorpus');
  const locked = lockedOrFail(rawLocked);
  try {
    return await fingerprintCorpus(locked, { faqDocs: async () => (await plane.dataset()).docs, home: plane.home, onProgress: (documents) => heartbeat({ phase: 'fingerprint', documents }) });
  } catch (err) {
    // The user's data, in one line and not retried: changed since the lock, or unknown / unreadable / not as registered.
    if (err instanceof CorpusChangedError) throw ApplicationFailure.create({ type: 'CorpusChanged', nonRetryable: true, message: err.message });
    if (err instanceof RegistryError || err instanceof SourceError) throw ApplicationFailure.create({ type: 'DatasetUnavailable', nonRetryable: true, message: err.message });
    throw err;
  }
}
