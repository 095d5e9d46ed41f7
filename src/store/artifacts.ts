// Content-addressed artifact store (issue 17 item 3): FAISS index files and other build outputs kept
// in PostgreSQL (or PGlite) as ~1 MB bytea chunks keyed by their sha256, so any worker or serving
// replica with the same database loads what another built. Reads go through a local cache under the
// state dir (<stateDir>/artifacts/<hash>), verified by hash every time it is used. A hash the store
// does not hold is ArtifactMissing, bytes that do not hash to their name are ArtifactCorrupt: never a
// silent rebuild with other results. S3-compatible buckets are not implemented (PostgreSQL only).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { Db } from '../platform/db';
import { stateDir } from '../platform/paths';

export const ARTIFACTS_DDL = `
CREATE TABLE IF NOT EXISTS artifacts (
  hash        text PRIMARY KEY,
  kind        text NOT NULL,
  bytes_total bigint NOT NULL,
  chunks      int NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS artifact_chunks (
  hash  text NOT NULL REFERENCES artifacts(hash) ON DELETE CASCADE,
  seq   int NOT NULL,
  bytes bytea NOT NULL,
  PRIMARY KEY (hash, seq)
);
CREATE TABLE IF NOT EXISTS artifact_refs (
  name       text PRIMARY KEY,
  hash       text NOT NULL REFERENCES artifacts(hash),
  updated_at timestamptz NOT NULL DEFAULT now()
);`;

/** 1 MiB: memory per put/get is bounded by one chunk (plus the driver's copy of it). */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

const HASH = /^[0-9a-f]{64}$/;

export class ArtifactMissing extends Error {
  constructor(readonly hash: string, where: string) {
    super(`artifact sha256:${hash} is missing: ${where}`);
    this.name = 'ArtifactMissing';
  }
}

export class ArtifactCorrupt extends Error {
  constructor(readonly hash: string, why: string) {
    super(`artifact sha256:${hash} is corrupt: ${why}`);
    this.name = 'ArtifactCorrupt';
  }
}

/** A directory published as one artifact: its files' names and hashes (a JSON artifact of kind 'dir'). */
const DirManifest = z.strictObject({
  kind: z.literal('dir'),
  files: z.array(z.tuple([z.string().regex(/^[^/\\]+$/), z.string().regex(HASH)])),
});
type DirManifest = z.infer<typeof DirManifest>;

export interface PutResult {
  hash: string;
  bytes: number;
  /** false: the store already held it (idempotent put, nothing written). */
  stored: boolean;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of a file, read in bounded pieces. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const piece of fs.createReadStream(file, { highWaterMark: DEFAULT_CHUNK_BYTES })) h.update(piece as Buffer);
  return h.digest('hex');
}

export class ArtifactStore {
  readonly cacheDir: string;
  private readonly chunkBytes: number;

  constructor(
    private readonly db: Db,
    opts: { cacheDir?: string; chunkBytes?: number } = {},
  ) {
    this.cacheDir = opts.cacheDir ?? path.join(stateDir, 'artifacts');
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  }

  /** Creates the tables (idempotent) and returns the store. */
  static async open(db: Db, opts: { cacheDir?: string; chunkBytes?: number } = {}): Promise<ArtifactStore> {
    await db.exec(ARTIFACTS_DDL);
    return new ArtifactStore(db, opts);
  }

  async has(hash: string): Promise<boolean> {
    const r = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM artifacts WHERE hash = $1', [hash]);
    return r.rows[0].n > 0;
  }

  /**
   * Stores a file under its sha256, streamed chunk by chunk in one transaction. Idempotent: a hash the
   * store holds is not written again (two concurrent puts of the same bytes: the second waits on the
   * first's row and then does nothing).
   */
  async putFile(file: string, kind: string): Promise<PutResult> {
    const hash = await sha256File(file);
    const bytes = fs.statSync(file).size;
    if (await this.has(hash)) return { hash, bytes, stored: false };
    const stored = await this.db.transaction(async (tx) => {
      const chunks = Math.max(1, Math.ceil(bytes / this.chunkBytes));
      const claimed = await tx.query('INSERT INTO artifacts (hash, kind, bytes_total, chunks) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING RETURNING hash', [hash, kind, bytes, chunks]);
      if (claimed.rows.length === 0) return false;
      const fh = await fs.promises.open(file, 'r');
      try {
        const again = createHash('sha256');
        const buf = Buffer.alloc(this.chunkBytes);
        let total = 0;
        for (let seq = 0; seq < chunks; seq++) {
          const { bytesRead } = await fh.read(buf, 0, this.chunkBytes, total);
          const piece = buf.subarray(0, bytesRead);
          again.update(piece);
          total += bytesRead;
          await tx.query('INSERT INTO artifact_chunks (hash, seq, bytes) VALUES ($1, $2, $3)', [hash, seq, piece]);
        }
        // The file changed between hashing and storing: refuse (the transaction rolls back).
        if (total !== bytes || again.digest('hex') !== hash) throw new Error(`${file} changed while it was being stored; nothing was stored`);
      } finally {
        await fh.close();
      }
      return true;
    });
    return { hash, bytes, stored };
  }

  /** Stores a small in-memory artifact (manifests, pointers) via a temporary file. */
  async putBytes(bytes: Uint8Array | string, kind: string): Promise<PutResult> {
    const tmp = this.tmpPath();
    fs.writeFileSync(tmp, bytes);
    try {
      return await this.putFile(tmp, kind);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /**
   * The local path of an artifact's bytes: the cached copy when it still hashes to its name, else
   * fetched from the store chunk by chunk and verified before it replaces the cache entry.
   */
  async fetch(hash: string): Promise<string> {
    if (!HASH.test(hash)) throw new ArtifactMissing(hash, 'not a sha256 hex digest');
    const cached = path.join(this.cacheDir, hash);
    if (fs.existsSync(cached)) {
      if ((await sha256File(cached)) === hash) return cached;
      fs.rmSync(cached, { force: true }); // a damaged cache entry: the store is the truth
    }
    const head = await this.db.query<{ bytes_total: string | number; chunks: number; kind: string }>('SELECT bytes_total, chunks, kind FROM artifacts WHERE hash = $1', [hash]);
    if (head.rows.length === 0) throw new ArtifactMissing(hash, 'the artifact store (table artifacts) does not hold it');
    const { chunks, kind } = head.rows[0];
    const bytesTotal = Number(head.rows[0].bytes_total);
    const tmp = this.tmpPath();
    const fh = await fs.promises.open(tmp, 'w');
    const h = createHash('sha256');
    let total = 0;
    try {
      for (let seq = 0; seq < chunks; seq++) {
        const r = await this.db.query<{ bytes: Uint8Array }>('SELECT bytes FROM artifact_chunks WHERE hash = $1 AND seq = $2', [hash, seq]);
        if (r.rows.length === 0) throw new ArtifactCorrupt(hash, `${kind}: chunk ${seq} of ${chunks} is missing`);
        const piece = r.rows[0].bytes;
        h.update(piece);
        total += piece.byteLength;
        await fh.write(piece);
      }
    } catch (err) {
      await fh.close();
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    await fh.close();
    const got = h.digest('hex');
    if (total !== bytesTotal || got !== hash) {
      fs.rmSync(tmp, { force: true });
      throw new ArtifactCorrupt(hash, `${kind}: the stored ${total} bytes (of ${bytesTotal} recorded) hash to ${got.slice(0, 16)}…`);
    }
    fs.renameSync(tmp, cached);
    return cached;
  }

  async readBytes(hash: string): Promise<Buffer> {
    return fs.readFileSync(await this.fetch(hash));
  }

  /** Publishes every file of a directory (not recursive) and returns the hash of its manifest. */
  async putDir(dir: string, kind: string): Promise<string> {
    const files: DirManifest['files'] = [];
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (!fs.statSync(file).isFile()) continue;
      files.push([name, (await this.putFile(file, `${kind}/${name}`)).hash]);
    }
    const manifest: DirManifest = { kind: 'dir', files };
    return (await this.putBytes(JSON.stringify(manifest), `${kind}/dir`)).hash;
  }

  /**
   * A local directory holding a published directory's files (<cacheDir>/dirs/<hash>), each verified
   * by hash; the files are hard links to (or copies of) the verified cache entries.
   */
  async fetchDir(hash: string): Promise<string> {
    const raw = (await this.readBytes(hash)).toString('utf8');
    let manifest: DirManifest;
    try {
      manifest = DirManifest.parse(JSON.parse(raw));
    } catch {
      throw new ArtifactCorrupt(hash, 'not a directory manifest');
    }
    const dir = path.join(this.cacheDir, 'dirs', hash);
    const blobs: string[] = [];
    for (const [, fileHash] of manifest.files) blobs.push(await this.fetch(fileHash));
    fs.rmSync(dir, { recursive: true, force: true });
    const tmp = this.tmpPath();
    fs.mkdirSync(tmp, { recursive: true });
    manifest.files.forEach(([name], i) => {
      try {
        fs.linkSync(blobs[i], path.join(tmp, name));
      } catch {
        fs.copyFileSync(blobs[i], path.join(tmp, name));
      }
    });
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.renameSync(tmp, dir);
    return dir;
  }

  /** Points a name (e.g. index:<table>) at an artifact the store holds. */
  async setRef(name: string, hash: string): Promise<void> {
    await this.db.query(
      'INSERT INTO artifact_refs (name, hash) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now()',
      [name, hash],
    );
  }

  async getRef(name: string): Promise<string | null> {
    const r = await this.db.query<{ hash: string }>('SELECT hash FROM artifact_refs WHERE name = $1', [name]);
    return r.rows[0]?.hash ?? null;
  }

  private tmpPath(): string {
    fs.mkdirSync(path.join(this.cacheDir, 'tmp'), { recursive: true });
    return path.join(this.cacheDir, 'tmp', `${process.pid}-${randomBytes(6).toString('hex')}`);
  }
}
