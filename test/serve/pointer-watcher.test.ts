// The pointer watcher on a real PGlite pointer table. Loading a side is replaced by a stub source
// with controllable delays and failures: the watcher treats sides as opaque values, and what is
// tested here is its timing and ordering (a real load is exercised by the service tests).
import { initLane, restoreBaselinePointer, setSplit } from '../../src/store/pointer';
import { ensurePlatformSchema } from '../../src/store';
import { openDb, type Db } from '../../src/platform/db';
import { PointerWatcher, type SideSource } from '../../src/serve/pointer-watcher';
import { sideKey, type ServingSide, type SideSpec } from '../../src/serve/serving-side';

let db: Db;
beforeAll(async () => {
  db = await openDb();
  await ensurePlatformSchema(db);
});
afterAll(async () => db?.close());

/** Sides that load after `delayMs[table]` (default 0) and fail while `failing` holds their table. */
function stubSides() {
  const delayMs: Record<string, number> = {};
  const failing = new Set<string>();
  const loads: string[] = [];
  const source: SideSource = {
    async get(spec: SideSpec) {
      loads.push(spec.table);
      await new Promise((r) => setTimeout(r, delayMs[spec.table] ?? 0));
      if (failing.has(spec.table)) throw new Error(`cannot load ${spec.table}`);
      return { key: sideKey(spec), spec } as unknown as ServingSide;
    },
    keys: () => [],
  };
  return { source, delayMs, failing, loads };
}

const rollback = (lane: string) => restoreBaselinePointer(db, { lane, baseline: { table: 'live_t', index: null, configHash: null }, by: 't', reason: 'rollback' });
const canary = (lane: string, table: string, percent = 10) =>
  setSplit(db, { lane, candidateTable: table, candidateIndex: null, candidateConfigHash: 'h', percent, by: 't', reason: 'canary' });

async function waitFor(w: PointerWatcher, version: number, limitMs = 3000): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    if (w.current()?.pointer.version === version) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
  return Infinity;
}

test('a rollback is served at once even while a slow candidate is still loading', async () => {
  await initLane(db, { lane: 'slow', liveTable: 'live_t', by: 't' });
  const s = stubSides();
  s.delayMs.slow_t = 2500;
  const w = new PointerWatcher({ db, lane: 'slow', sides: s.source, pollMs: 50 });
  await w.start();
  try {
    expect(w.current()!.pointer.version).toBe(1);
    const v2 = await canary('slow', 'slow_t');
    await new Promise((r) => setTimeout(r, 200)); // v2's load has started
    expect(s.loads).toContain('slow_t');
    const v3 = await rollback('slow');
    expect(await waitFor(w, v3.version)).toBeLessThan(1000);
    expect(w.current()!.candidate).toBeNull();
    // v2 finishes loading later and must not replace the newer state.
    await new Promise((r) => setTimeout(r, 2600));
    expect(w.current()!.pointer.version).toBe(v3.version);
    expect(v2.version).toBeLessThan(v3.version);
  } finally {
    await w.stop();
  }
});

test('a candidate that fails to load leaves the baseline serving, and is retried until it loads', async () => {
  await initLane(db, { lane: 'retry', liveTable: 'live_t', by: 't' });
  const s = stubSides();
  s.failing.add('flaky_t');
  const applied: number[] = [];
  const w = new PointerWatcher({ db, lane: 'retry', sides: s.source, pollMs: 30, retryMs: 200, onApply: (n) => applied.push(n.pointer.version) });
  await w.start();
  try {
    const v2 = await canary('retry', 'flaky_t', 50);
    await waitFor(w, v2.version);
    expect(w.current()!.candidate).toBeNull();
    expect(w.current()!.candidateError).toMatch(/cannot load flaky_t/);
    expect(w.status().lastError).toMatch(/cannot load flaky_t/);
    s.failing.delete('flaky_t');
    const t0 = Date.now();
    while (!w.current()!.candidate && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(w.current()!.candidate!.spec.table).toBe('flaky_t');
    expect(w.current()!.pointer.version).toBe(v2.version); // same version, now complete
    expect(w.status().lastError).toBeNull();
    expect(applied).toEqual([1, v2.version, v2.version]);
  } finally {
    await w.stop();
  }
});

test('a baseline that cannot be loaded keeps the previous state serving', async () => {
  await initLane(db, { lane: 'keep', liveTable: 'live_t', by: 't' });
  const s = stubSides();
  const w = new PointerWatcher({ db, lane: 'keep', sides: s.source, pollMs: 30 });
  await w.start();
  try {
    s.failing.add('broken_t');
    await restoreBaselinePointer(db, { lane: 'keep', baseline: { table: 'broken_t', index: null, configHash: null }, by: 't', reason: 'bad promote' });
    await new Promise((r) => setTimeout(r, 300));
    expect(w.current()!.pointer.version).toBe(1);
    expect(w.current()!.baseline.spec.table).toBe('live_t');
    expect(w.status().lastError).toMatch(/not applied: cannot load broken_t/);
  } finally {
    await w.stop();
  }
});

test('a lane without a pointer row starts empty and says why', async () => {
  const w = new PointerWatcher({ db, lane: 'nobody', sides: stubSides().source, pollMs: 30 });
  await w.start();
  await w.stop();
  expect(w.current()).toBeNull();
  expect(w.status().lastError).toBe("lane 'nobody' has no pointer row yet");
});
