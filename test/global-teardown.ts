import * as fs from 'node:fs';

const g = globalThis as unknown as { __bakeoffStops?: (() => Promise<void>)[]; __bakeoffTmp?: string };

export default async function globalTeardown(): Promise<void> {
  for (const stop of (g.__bakeoffStops ?? []).reverse()) await stop().catch(() => undefined);
  if (g.__bakeoffTmp) fs.rmSync(g.__bakeoffTmp, { recursive: true, force: true });
}
