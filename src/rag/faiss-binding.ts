// Loads faiss-node's native addon as scripts/provision/faiss.sh builds it, and types the methods the
// project's binding patch adds (setNprobe/getNprobe/getNlist, Float32Array input). The package's own
// typings describe the unpatched 0.5.1 API, so they are not used here.

/** One faiss index behind the N-API binding. Labels are int64 positions in insertion order. */
export interface NativeIndex {
  ntotal(): number;
  getDimension(): number;
  isTrained(): boolean;
  add(x: Float32Array): void;
  train(x: Float32Array): void;
  /** Throws if k > ntotal; pads with label -1 when fewer than k vectors are reachable. */
  search(x: Float32Array, k: number): { distances: number[]; labels: number[] };
  /** Throws unless the index is IVF and 1 <= n <= nlist. */
  setNprobe(n: number): void;
  /** null for a non-IVF index. */
  getNprobe(): number | null;
  getNlist(): number | null;
  toBuffer(): Buffer;
}

export interface NativeFaiss {
  fromFactory(dim: number, description: string, metric: number): NativeIndex;
  fromBuffer(buffer: Buffer): NativeIndex;
  /** faiss::METRIC_INNER_PRODUCT */
  metricInnerProduct: number;
  version: string;
}

const PROVISION_HINT = 'run `bash scripts/provision/faiss.sh` (it builds the addon against Debian libfaiss-dev)';

export class FaissUnavailableError extends Error {
  constructor(message: string) {
    super(`${message}; ${PROVISION_HINT}`);
    this.name = 'FaissUnavailableError';
  }
}

interface FaissNodeModule {
  Index: {
    fromFactory(dim: number, description: string, metric: number): NativeIndex;
    fromBuffer(buffer: Buffer): NativeIndex;
    prototype: Partial<NativeIndex>;
  };
  MetricType: { METRIC_INNER_PRODUCT: number };
}

let loaded: NativeFaiss | undefined;

/** The patched faiss-node addon, loaded once; a clear error if it was never built or is unpatched. */
export function loadFaiss(): NativeFaiss {
  if (loaded) return loaded;
  let mod: FaissNodeModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('faiss-node') as FaissNodeModule;
  } catch (err) {
    throw new FaissUnavailableError(`faiss-node's native addon could not be loaded (${(err as Error).message.split('\n')[0]})`);
  }
  if (typeof mod.Index?.prototype?.setNprobe !== 'function') {
    throw new FaissUnavailableError('faiss-node is loaded but lacks setNprobe, so it was not built with the project patch');
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const version = (require('faiss-node/package.json') as { version: string }).version;
  loaded = {
    fromFactory: (dim, description, metric) => mod.Index.fromFactory(dim, description, metric),
    fromBuffer: (buffer) => mod.Index.fromBuffer(buffer),
    metricInnerProduct: mod.MetricType.METRIC_INNER_PRODUCT,
    version,
  };
  return loaded;
}
