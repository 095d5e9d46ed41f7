// pgvector's binary read path (vector_send) against the text form, on real PGlite and real
// PostgreSQL 15 + pgvector: every float4 must come back bit-identical, whatever its magnitude.
import type { Db } from '../../src/platform/db';
import { binaryVectorDims, decodeVector, decodeVectorInto, toVectorLiteral, vectorRead } from '../../src/rag/vector-codec';
import { engines, rng } from './db-engines';

/** Vectors with the awkward float32s: zero, tiny, subnormal, huge, exact powers of two, odd dims. (-0 is written as 0 by the text literal.) */
function awkwardVectors(): Float32Array[] {
  const rand = rng(7);
  const out = [Float32Array.from([1]), Float32Array.from([0, 1e-38, -1.4e-45, -3.4e38, 2 ** -20, 0.1, 1 / 3])];
  for (const dims of [3, 16, 384, 1024]) out.push(Float32Array.from({ length: dims }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 8 - 4)));
  return out;
}

describe.each(engines())('vector codec on $name', (engine) => {
  let db: Db;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await engine.open());
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
  });
  afterAll(async () => close());

  test('the binary read gives back exactly the float32s written as text, at any dimension', async () => {
    for (const v of awkwardVectors()) {
      const r = await db.query<{ b: Uint8Array; t: string }>(`SELECT ${vectorRead('$1::vector')} AS b, $1::vector::text AS t`, [toVectorLiteral(v)]);
      const { b, t } = r.rows[0];
      expect(b).toBeInstanceOf(Uint8Array);
      expect(binaryVectorDims(b)).toBe(v.length);
      expect(Float32Array.from(decodeVector(b))).toEqual(Float32Array.from(decodeVector(t)));
      expect(Float32Array.from(decodeVector(b))).toEqual(v);
      const into = new Float32Array(v.length + 2);
      expect(decodeVectorInto(b, into, 1)).toBe(v.length);
      expect(into.subarray(1, 1 + v.length)).toEqual(v);
    }
  });
});

test('malformed binary vectors and impossible targets are refused with a reason', () => {
  expect(() => decodeVector(Uint8Array.from([0, 2, 0, 0, 1, 2, 3, 4]))).toThrow(/malformed binary vector \(8 bytes\)/);
  expect(() => decodeVector(Uint8Array.from([0]))).toThrow(/malformed binary vector/);
  expect(() => decodeVector(null)).toThrow(/unexpected vector value null/);
  const one = Uint8Array.from([0, 1, 0, 0, 0x3f, 0x80, 0, 0]); // [1.0]
  expect(decodeVector(one)).toEqual([1]);
  expect(() => decodeVectorInto(one, new Float32Array(1), 1)).toThrow(/does not fit/);
});
