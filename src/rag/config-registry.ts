// Locked configs kept in the database with their history. Exactly one config is active (the live
// retrieval settings); promote archives the previous active one in the same transaction, and a
// partial unique index makes a second active row impossible even under concurrent writers.
import type { Db, Queryable } from '../platform/db';
import { parseLockedConfig, type LockedConfig } from './config';

export type ConfigStatus = 'active' | 'candidate' | 'archived';

export interface RegisteredConfig {
  config: LockedConfig;
  config_hash: string;
  chunk_version: string;
  status: ConfigStatus;
  created_at: Date;
  created_by: string;
}

export interface ConfigHistoryEntry {
  id: number;
  config_hash: string;
  from_status: ConfigStatus | null;
  to_status: ConfigStatus;
  changed_at: Date;
  changed_by: string;
  reason: string | null;
}

export class UnknownConfigError extends Error {
  constructor(readonly configHash: string) {
    super(`no registered config with config_hash ${configHash}`);
    this.name = 'UnknownConfigError';
  }
}

interface ConfigRowRaw {
  config_hash: string;
  chunk_version: string;
  json: unknown;
  status: ConfigStatus;
  created_at: Date | string;
  created_by: string;
}

function toRegistered(r: ConfigRowRaw): RegisteredConfig {
  const json = typeof r.json === 'string' ? (JSON.parse(r.json) as unknown) : r.json;
  return {
    config: parseLockedConfig(json),
    config_hash: r.config_hash,
    chunk_version: r.chunk_version,
    status: r.status,
    created_at: new Date(r.created_at),
    created_by: r.created_by,
  };
}

const SELECT = 'SELECT config_hash, chunk_version, json, status, created_at, created_by FROM rag_configs';

export class ConfigRegistry {
  constructor(private readonly db: Db) {}

  async ensureSchema(): Promise<void> {
    await this.db.exec(`
      CREATE TABLE IF NOT EXISTS rag_configs (
        config_hash text PRIMARY KEY,
        chunk_version text NOT NULL,
        json jsonb NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'candidate', 'archived')),
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL
      );
      CREATE UNIQUE INDEX IF NOT EXISTS rag_configs_one_active ON rag_configs (status) WHERE status = 'active';
      CREATE TABLE IF NOT EXISTS rag_config_history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        config_hash text NOT NULL REFERENCES rag_configs (config_hash),
        from_status text,
        to_status text NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now(),
        changed_by text NOT NULL,
        reason text
      );
    `);
  }

  /** Stores a config as a candidate. Idempotent: registering the same config_hash again returns the stored one. */
  async register(config: LockedConfig, by: string = config.created_by): Promise<RegisteredConfig> {
    const valid = parseLockedConfig(config); // never store a config whose hash does not match its fields
    return this.db.transaction(async (tx) => {
      const ins = await tx.query<ConfigRowRaw>(
        `INSERT INTO rag_configs (config_hash, chunk_version, json, status, created_by)
         VALUES ($1, $2, $3::jsonb, 'candidate', $4)
         ON CONFLICT (config_hash) DO NOTHING
         RETURNING config_hash, chunk_version, json, status, created_at, created_by`,
        [valid.config_hash, valid.chunk_version, JSON.stringify(valid), by],
      );
      if (ins.rows.length > 0) {
        await this.recordHistory(tx, valid.config_hash, null, 'candidate', by, 'registered');
        return toRegistered(ins.rows[0]);
      }
      const existing = await tx.query<ConfigRowRaw>(`${SELECT} WHERE config_hash = $1`, [valid.config_hash]);
      return toRegistered(existing.rows[0]);
    });
  }

  async get(configHash: string): Promise<RegisteredConfig | null> {
    const r = await this.db.query<ConfigRowRaw>(`${SELECT} WHERE config_hash = $1`, [configHash]);
    return r.rows[0] ? toRegistered(r.rows[0]) : null;
  }

  async getActive(q: Queryable = this.db): Promise<RegisteredConfig | null> {
    const r = await q.query<ConfigRowRaw>(`${SELECT} WHERE status = 'active'`);
    return r.rows[0] ? toRegistered(r.rows[0]) : null;
  }

  /**
   * Makes configHash the active config and archives the previous active one, atomically.
   * Promoting an archived config is how a rollback restores an earlier baseline.
   */
  async promote(configHash: string, by: string, reason: string | null = null): Promise<{ previous: string | null; active: string }> {
    return this.db.transaction(async (tx) => {
      // Serialise promotions; readers are not blocked by this lock mode.
      await tx.query('LOCK TABLE rag_configs IN EXCLUSIVE MODE');
      const target = await tx.query<{ status: ConfigStatus }>('SELECT status FROM rag_configs WHERE config_hash = $1', [configHash]);
      if (target.rows.length === 0) throw new UnknownConfigError(configHash);
      if (target.rows[0].status === 'active') return { previous: configHash, active: configHash };
      const current = await tx.query<{ config_hash: string }>(`SELECT config_hash FROM rag_configs WHERE status = 'active'`);
      const previous = current.rows[0]?.config_hash ?? null;
      if (previous) {
        await tx.query(`UPDATE rag_configs SET status = 'archived' WHERE config_hash = $1`, [previous]);
        await this.recordHistory(tx, previous, 'active', 'archived', by, reason ?? `superseded by ${configHash}`);
      }
      await tx.query(`UPDATE rag_configs SET status = 'active' WHERE config_hash = $1`, [configHash]);
      await this.recordHistory(tx, configHash, target.rows[0].status, 'active', by, reason);
      return { previous, active: configHash };
    });
  }

  /** Retires a non-active config (an abandoned candidate). The active config is replaced only by promote. */
  async archive(configHash: string, by: string, reason: string | null = null): Promise<void> {
    await this.db.transaction(async (tx) => {
      const r = await tx.query<{ status: ConfigStatus }>('SELECT status FROM rag_configs WHERE config_hash = $1 FOR UPDATE', [configHash]);
      if (r.rows.length === 0) throw new UnknownConfigError(configHash);
      const from = r.rows[0].status;
      if (from === 'archived') return;
      if (from === 'active') throw new Error(`config ${configHash} is active; promote another config instead of archiving it`);
      await tx.query(`UPDATE rag_configs SET status = 'archived' WHERE config_hash = $1`, [configHash]);
      await this.recordHistory(tx, configHash, from, 'archived', by, reason);
    });
  }

  async list(filter: { status?: ConfigStatus } = {}): Promise<RegisteredConfig[]> {
    const r = filter.status
      ? await this.db.query<ConfigRowRaw>(`${SELECT} WHERE status = $1 ORDER BY created_at, config_hash`, [filter.status])
      : await this.db.query<ConfigRowRaw>(`${SELECT} ORDER BY created_at, config_hash`);
    return r.rows.map(toRegistered);
  }

  async history(configHash?: string): Promise<ConfigHistoryEntry[]> {
    const cols = 'id::int AS id, config_hash, from_status, to_status, changed_at, changed_by, reason';
    const r = configHash
      ? await this.db.query<ConfigHistoryEntry>(`SELECT ${cols} FROM rag_config_history WHERE config_hash = $1 ORDER BY id`, [configHash])
      : await this.db.query<ConfigHistoryEntry>(`SELECT ${cols} FROM rag_config_history ORDER BY id`);
    return r.rows.map((e) => ({ ...e, changed_at: new Date(e.changed_at) }));
  }

  private async recordHistory(tx: Queryable, hash: string, from: ConfigStatus | null, to: ConfigStatus, by: string, reason: string | null): Promise<void> {
    await tx.query(
      'INSERT INTO rag_config_history (config_hash, from_status, to_status, changed_by, reason) VALUES ($1, $2, $3, $4, $5)',
      [hash, from, to, by, reason],
    );
  }
}
