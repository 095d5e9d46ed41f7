// Shadow traffic's pointer side (issue 14) on both engines (PGlite and the real PostgreSQL cluster):
// setMirror / clearMirror are idempotent, recorded in the pointer history, fenced by the lane lease
// like a split, never touch what the serving path serves (live table, candidate, percent), and the
// table refuses a mirror percent without a mirror table.
import { ApplicationFailure } from '@temporalio/common';
import { createPlatformActivities, ensurePlatformSchema } from '../../src/activities';
import type { PlatformActivities } from '../../src/activities/types';
import type { Db } from '../../src/platform/db';
import { claimLane } from '../../src/store/lane-lease';
import { initLane, pointerHistory, readPointer, setSplit } from '../../src/store/pointer';
import { engines } from '../rag/db-engines';

const BASE = { table: 'live_base', index: null, configHash: 'a'.repeat(64) };

for (const engine of engines()) {
  describe(`mirror pointer on ${engine.name}`, () => {
    let db: Db;
    let close: () => Promise<void>;
    let acts: PlatformActivities;
    let seq = 0;

    beforeAll(async () => {
      ({ db, close } = await engine.open());
      await ensurePlatformSchema(db);
      await ensurePlatformSchema(db); // the ALTERs are idempotent
      acts = createPlatformActivities({ db });
    });
    afterAll(async () => close?.());

    async function freshLane(): Promise<string> {
      const lane = `mirror_${engine.name}_${++seq}`;
      await initLane(db, { lane, liveTable: BASE.table, liveConfigHash: BASE.configHash, by: 'test' });
      return lane;
    }
    const mirror = (lane: string, wf: string, step: string, percent = 100, table = 'cand_m') =>
      acts.setMirror({ lane, workflowId: wf, table, index: null, configHash: 'c'.repeat(64), percent, by: `bakeoff:${wf}`, reason: 'shadow', idempotencyKey: `${wf}/${lane}/mirror-${step}` });
    const clear = (lane: string, wf: string, step: string) =>
      acts.clearMirror({ lane, workflowId: wf, by: `bakeoff:${wf}`, reason: 'shadow over', idempotencyKey: `${wf}/${lane}/mirror-clear-${step}` });
    async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
      const err = await p.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      return err as ApplicationFailure;
    }

    test('set, repeat, change, clear, clear again: one history row per real change, serving fields untouched', async () => {
      const lane = await freshLane();
      const before = (await readPointer(db, lane))!;
      expect(before).toMatchObject({ mirrorTable: null, mirrorPercent: 0, mirrorOwner: null });
      const set = await mirror(lane, 'wf-1', 'a');
      expect(set).toMatchObject({ mirrorTable: 'cand_m', mirrorIndex: null, mirrorConfigHash: 'c'.repeat(64), mirrorPercent: 100, mirrorOwner: 'wf-1', version: before.version + 1 });
      // What is served is exactly as before.
      expect(set).toMatchObject({ liveTable: before.liveTable, candidateTable: null, canaryPercent: 0, cacheEpoch: before.cacheEpoch });
      // A retry with the same key returns the recorded result; a new key with the same values is a no-op.
      expect((await mirror(lane, 'wf-1', 'a')).version).toBe(set.version);
      expect((await mirror(lane, 'wf-1', 'b')).version).toBe(set.version);
      expect(await mirror(lane, 'wf-1', 'c', 30)).toMatchObject({ mirrorPercent: 30, version: set.version + 1 });
      const cleared = await clear(lane, 'wf-1', 'a');
      expect(cleared).toMatchObject({ mirrorTable: null, mirrorIndex: null, mirrorConfigHash: null, mirrorPercent: 0, mirrorOwner: null, version: set.version + 2 });
      expect((await clear(lane, 'wf-1', 'b')).version).toBe(cleared.version); // nothing mirrored: no-op
      const hist = await pointerHistory(db, lane);
      expect(hist.map((h) => h.action)).toEqual(['init', 'mirror', 'mirror', 'mirror-clear']);
      expect(hist.map((h) => h.mirrorPercent)).toEqual([0, 100, 30, 0]);
    });

    test('clearMirror on a lane that never mirrored is a no-op', async () => {
      const lane = await freshLane();
      const v = (await readPointer(db, lane))!.version;
      expect((await clear(lane, 'wf-x', 'a')).version).toBe(v);
    });

    test('fenced like a split: refused for another owner and once the owner rolled back; clear still works after rollback', async () => {
      const lane = await freshLane();
      await claimLane(db, { lane, workflowId: 'wf-own', by: 'alice' });
      expect((await failure(mirror(lane, 'wf-other', 'a'))).type).toBe('SplitFenced');
      await mirror(lane, 'wf-own', 'a');
      await acts.restoreBaseline({ lane, baseline: BASE, by: 'bakeoff:wf-own (rollback)', reason: 'breach', workflowId: 'wf-own', idempotencyKey: `wf-own/${lane}/rollback-restore` });
      const refused = await failure(mirror(lane, 'wf-own', 'b', 50));
      expect(refused.type).toBe('SplitFenced');
      expect(refused.message).toMatch(/rolled back/);
      // The restore left the mirror alone (the workflow clears it on every exit path), and the owner can.
      expect((await readPointer(db, lane))!.mirrorTable).toBe('cand_m');
      expect((await clear(lane, 'wf-own', 'a')).mirrorTable).toBeNull();
    });

    test("another bakeoff's mirror is neither overwritten on an unleased lane nor cleared by a stranger", async () => {
      const lane = await freshLane();
      await mirror(lane, 'wf-a', 'a');
      expect((await failure(mirror(lane, 'wf-b', 'a', 100, 'cand_b'))).type).toBe('PointerConflict');
      expect((await clear(lane, 'wf-b', 'a')).mirrorOwner).toBe('wf-a');
      // An operator (no workflow id) clears whatever is mirrored.
      const { clearMirrorTarget } = await import('../../src/store/pointer');
      expect((await clearMirrorTarget(db, { lane, by: 'oncall', reason: 'manual' })).mirrorTable).toBeNull();
    });

    test('a split and a mirror coexist; a percent without a table is refused by the table itself', async () => {
      const lane = await freshLane();
      await setSplit(db, { lane, candidateTable: 'cand_s', candidateIndex: null, candidateConfigHash: 'c'.repeat(64), percent: 10, by: 'test', reason: 'canary' });
      const m = await mirror(lane, 'wf-s', 'a', 100, 'cand_m2');
      expect(m).toMatchObject({ candidateTable: 'cand_s', canaryPercent: 10, mirrorTable: 'cand_m2', mirrorPercent: 100 });
      await expect(db.query(`UPDATE serving_pointer SET mirror_table = NULL, mirror_percent = 5 WHERE lane = $1`, [lane])).rejects.toThrow(/check/i);
      await expect(db.query(`UPDATE serving_pointer SET mirror_percent = 101 WHERE lane = $1`, [lane])).rejects.toThrow(/check/i);
      expect((await failure(mirror(lane, 'wf-s', 'b', 101))).type).toBe('BakeoffInputError');
      expect((await failure(mirror(lane, 'wf-s', 'c', 50, 'bad table; drop'))).type).toBe('UnsafeIdentifier');
    });
  });
}
