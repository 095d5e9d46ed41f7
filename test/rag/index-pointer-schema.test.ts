// The index pointer is read by every worker and serving replica, possibly of different versions during
// a rolling upgrade: a field a newer build adds must not make an older reader drop the build (the local
// pointer read as "no index", the published one as a 503 side), and a broken pointer is one line that
// names the bad field. Real files in a temporary index directory; no database needed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CURRENT_FILE, parseIndexPointer, readIndexPointer, type IndexPointer } from '../../src/rag/serving-index';

const POINTER: IndexPointer = {
  table: 'shadow_v450',
  ingest_run_id: 'v450_o10_j80_a-4b9762b2',
  config_hash: 'a'.repeat(64),
  embedder: 'Xenova/all-MiniLM-L6-v2',
  rows: 945,
  flat: '/x/flat',
  ivf: '/x/ivf',
  nlist: 30,
  nprobe: 4,
  overlap_at_10: 0.993,
  ivf_sha256: 'b'.repeat(64),
};

test('a pointer with a field from a newer build is read by this version, without the field', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-pointer-'));
  try {
    fs.mkdirSync(path.join(dir, POINTER.table));
    fs.writeFileSync(path.join(dir, POINTER.table, CURRENT_FILE), JSON.stringify({ ...POINTER, colbert_sha256: 'c'.repeat(64) }));
    expect(readIndexPointer(dir, POINTER.table)).toEqual(POINTER);
    expect(parseIndexPointer(JSON.stringify({ ...POINTER, reranker_v2: { kind: 'future' } }), 'pointer')).toEqual(POINTER);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken pointer is one line naming where it came from and each bad field', () => {
  const { rows: _rows, ...noRows } = POINTER;
  expect(() => parseIndexPointer(JSON.stringify({ ...noRows, nprobe: 0 }), 'published index pointer sha256:ab of t')).toThrow(
    /^published index pointer sha256:ab of t does not parse: rows: .+; nprobe: .+$/,
  );
  expect(() => parseIndexPointer('{"table": ', 'pointer of t')).toThrow(/^pointer of t is not JSON: /);
  expect(() => parseIndexPointer('[]', 'pointer of t')).toThrow(/^pointer of t does not parse: \(input\): /);
});
