// Config registry on real PGlite and real PostgreSQL: history, one active config, promote/archive.
import type { Db } from '../../src/platform/db';
import { defaultBaseline, defaultCandidate, lockConfig, type LockedConfig } from '../../src/rag/config';
import { ConfigRegistry, UnknownConfigError } from '../../src/rag/config-registry';
import { engines } from './db-engines';

const ID = { embedder: 'all-MiniLM-L6-v2', tokenizer: 'all-MiniLM-L6-v2', tokenizer_hash: '0123456789abcdef' };
const NOW = new Date('2026-03-01T00:00:00.000Z');

describe.each(engines())('ConfigRegistry on $name', (engine) => {
  let db: Db;
  let close: () => Promise<void>;
  let registry: ConfigRegistry;
  let baseline: LockedConfig;
  let candidate: LockedConfig;
  let other: LockedConfig;

  beforeAll(async () => {
    ({ db, close } = await engine.open());
    registry = new ConfigRegistry(db);
    await registry.ensureSchema();
    await registry.ensureSchema(); // idempotent
    baseline = lockConfig({ ...defaultBaseline(ID), baseline_metrics: { hit_at_5: 0.55 } }, NOW);
    candidate = lockConfig(defaultCandidate(ID), NOW);
    other = lockConfig(defaultCandidate(ID, 'v300_alt'), NOW);
  });
  afterAll(async () => close());

  test('register stores a candidate, is idempotent, and round-trips the locked config', async () => {
    const r = await registry.register(baseline, 'alice');
    expect(r.status).toBe('candidate');
    expect(r.created_by).toBe('alice');
    expect(r.config).toEqual(baseline);
    const again = await registry.register(baseline, 'bob');
    expect(again.created_by).toBe('alice');
    expect((await registry.list()).length).toBe(1);
    expect(await registry.getActive()).toBeNull();
    expect((await registry.history(baseline.config_hash)).map((h) => h.to_status)).toEqual(['candidate']);
  });

  test('a config whose hash does not match its fields is refused', async () => {
    await expect(registry.register({ ...candidate, chunk_size: 999 }, 'mallory')).rejects.toThrow(/config_hash .* does not match/);
  });

  test('promote activates, archives the previous active one, and records both in the history', async () => {
    await registry.register(candidate, 'alice');
    expect(await registry.promote(baseline.config_hash, 'alice', 'initial baseline')).toEqual({ previous: null, active: baseline.config_hash });
    expect((await registry.getActive())?.config_hash).toBe(baseline.config_hash);

    expect(await registry.promote(candidate.config_hash, 'carol', 'bakeoff passed')).toEqual({
      previous: baseline.config_hash,
      active: candidate.config_hash,
    });
    expect((await registry.getActive())?.config).toEqual(candidate);
    expect((await registry.get(baseline.config_hash))?.status).toBe('archived');
    const h = await registry.history();
    expect(h.slice(-2).map((e) => [e.config_hash, e.from_status, e.to_status, e.changed_by])).toEqual([
      [baseline.config_hash, 'active', 'archived', 'carol'],
      [candidate.config_hash, 'candidate', 'active', 'carol'],
    ]);
    // Promoting the active config again changes nothing.
    const before = (await registry.history()).length;
    await registry.promote(candidate.config_hash, 'carol');
    expect((await registry.history()).length).toBe(before);
  });

  test('rolling back = promoting the archived baseline again', async () => {
    await registry.promote(baseline.config_hash, 'oncall', 'rollback: hit rate dropped');
    expect((await registry.getActive())?.config_hash).toBe(baseline.config_hash);
    expect((await registry.get(candidate.config_hash))?.status).toBe('archived');
    expect((await registry.list({ status: 'active' })).map((r) => r.config_hash)).toEqual([baseline.config_hash]);
  });

  test('the database itself refuses a second active config', async () => {
    await registry.register(other, 'dave');
    await expect(db.query(`UPDATE rag_configs SET status = 'active' WHERE config_hash = $1`, [other.config_hash])).rejects.toThrow(
      /rag_configs_one_active|duplicate key/,
    );
    expect((await registry.list({ status: 'active' })).length).toBe(1);
  });

  test('concurrent promotions leave exactly one active config', async () => {
    const results = await Promise.allSettled([
      registry.promote(other.config_hash, 'x'),
      registry.promote(candidate.config_hash, 'y'),
      registry.promote(baseline.config_hash, 'z'),
    ]);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    const active = await registry.list({ status: 'active' });
    expect(active.length).toBe(1);
    const archived = await registry.list({ status: 'archived' });
    expect(archived.length).toBe(2);
  });

  test('unknown hashes and archiving the active config are refused', async () => {
    await expect(registry.promote('f'.repeat(64), 'x')).rejects.toBeInstanceOf(UnknownConfigError);
    const active = await registry.getActive();
    await expect(registry.archive(active!.config_hash, 'x')).rejects.toThrow(/is active; promote another config/);
    const third = lockConfig(defaultCandidate(ID, 'v_abandoned'), NOW);
    await registry.register(third, 'x');
    await registry.archive(third.config_hash, 'x', 'abandoned');
    expect((await registry.get(third.config_hash))?.status).toBe('archived');
  });

  test('a tampered stored row is detected when read', async () => {
    await db.query(`UPDATE rag_configs SET json = jsonb_set(json, '{chunk_size}', '100') WHERE config_hash = $1`, [other.config_hash]);
    await expect(registry.get(other.config_hash)).rejects.toThrow(/config_hash .* does not match the semantic fields/);
  });
});
