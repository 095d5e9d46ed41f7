// scripts/provision/model.sh with a user-supplied BAKEOFF_MODEL_DIR: it must verify, never download.
// The files here are small stand-ins (the script checks presence and sha256, not ONNX validity);
// real loading of the provisioned model is covered by test/rag/embed.test.ts.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'provision', 'model.sh');

function runScript(modelDir: string, args: string[] = []): { code: number | null; stderr: string } {
  const r = spawnSync('bash', [SCRIPT, ...args], {
    env: { ...process.env, BAKEOFF_MODEL_DIR: modelDir, BAKEOFF_CACHE: path.join(modelDir, '.cache') },
    encoding: 'utf8',
  });
  return { code: r.status, stderr: r.stderr };
}

function writeModel(root: string, withManifest: boolean): string {
  const dir = path.join(root, 'all-MiniLM-L6-v2');
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  const files: Record<string, string> = {
    'config.json': '{"model_type":"bert"}',
    'tokenizer.json': '{"model":{}}',
    'tokenizer_config.json': '{"model_max_length":512}',
    'onnx/model_quantized.onnx': 'not really onnx',
  };
  const manifest: Record<string, { sha256: string; bytes: number }> = {};
  for (const [rel, body] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, rel), body);
    manifest[rel] = { sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length };
  }
  if (withManifest) fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ files: manifest }));
  return dir;
}

describe('model.sh with BAKEOFF_MODEL_DIR', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-usermodels-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('accepts a complete directory whose files match its manifest', () => {
    writeModel(root, true);
    const r = runScript(root);
    expect(r.stderr).toContain('using user-supplied models');
    expect(r.code).toBe(0);
  });

  test('accepts a complete directory without a manifest', () => {
    writeModel(root, false);
    expect(runScript(root).code).toBe(0);
  });

  test('names the missing model directory', () => {
    const r = runScript(root);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/has no 'all-MiniLM-L6-v2' directory/);
  });

  test('names the missing file transformers.js needs', () => {
    const dir = writeModel(root, false);
    fs.rmSync(path.join(dir, 'tokenizer_config.json'));
    const r = runScript(root);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/tokenizer_config\.json is missing/);
  });

  test('rejects a file altered after its manifest was written', () => {
    const dir = writeModel(root, true);
    fs.appendFileSync(path.join(dir, 'tokenizer.json'), ' ');
    const r = runScript(root);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/sha256 mismatch for .*tokenizer\.json/);
    expect(r.stderr).toMatch(/does not match its manifest\.json/);
  });

  test('refuses an unknown flag with its usage', () => {
    const r = runScript(root, ['--bogus']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/usage: model\.sh \[--fp32\]/);
  });
});
