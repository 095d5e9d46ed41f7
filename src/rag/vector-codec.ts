// How embeddings cross the wire to and from pgvector. Writes use the text literal (one bound
// parameter per vector, the same SQL for PGlite and pg). Reads use the binary form: printing 384
// float4s as shortest decimals in the server and JSON-parsing them here is most of the cost of a
// snapshot's row fetch and of reading a table for an index build (bench/search-stages.ts).

/** pgvector's text form; a float32 printed by JS round-trips exactly through pgvector's float4. */
export function toVectorLiteral(v: Float32Array | number[]): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) throw new Error(`embedding has a non-finite value at ${i}`);
    s += (i ? ',' : '') + String(x);
  }
  return s + ']';
}

/** SQL selecting a vector column in binary: bytea of uint16 dims, uint16 unused, big-endian float4s. */
export function vectorRead(column: string): string {
  return `vector_send(${column})`;
}

/** Dimensions of a binary vector, checking its length. */
export function binaryVectorDims(v: Uint8Array): number {
  const dims = v.byteLength >= 4 ? (v[0] << 8) | v[1] : -1;
  if (dims < 0 || v.byteLength !== 4 + 4 * dims) throw new Error(`malformed binary vector (${v.byteLength} bytes)`);
  return dims;
}

/** Writes a binary vector into target at offset; returns its dimensions. */
export function decodeVectorInto(v: Uint8Array, target: Float32Array, offset: number): number {
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const dims = binaryVectorDims(v);
  if (offset + dims > target.length) throw new Error(`vector of ${dims} dims does not fit at ${offset} of ${target.length}`);
  for (let i = 0; i < dims; i++) target[offset + i] = view.getFloat32(4 + 4 * i);
  return dims;
}

/** A vector as read from the database: binary (vectorRead), or the text / array forms. */
export function decodeVector(v: unknown): number[] {
  if (v instanceof Uint8Array) {
    const out = new Float32Array(binaryVectorDims(v));
    decodeVectorInto(v, out, 0);
    return Array.from(out);
  }
  if (Array.isArray(v)) return v.map(Number);
  if (typeof v === 'string') return JSON.parse(v) as number[];
  throw new Error(`unexpected vector value ${v === null ? 'null' : typeof v}`);
}
