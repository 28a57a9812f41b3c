// Key files in DATA_DIR are created by whichever process starts first. Processes
// that start together must agree on one key, and none may read a file another has
// opened but not yet written (the webhook secrets key read empty is a failed start).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readOrCreate } from '../../src/operations/create-once.js';
import { SECRETS_KEY_FILE, SecretBox } from '../../src/webhooks/secret-box.js';
import { tempDir } from '../helpers/temp-dir.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

const fresh = () => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
};

/** Runs `code` in a new node process once the clock reaches `at`, so that several start together; resolves with its stdout. */
function runAt(at: number, code: string): Promise<string> {
  const script = `while (Date.now() < ${at}); ${code}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  return new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`)))));
}

describe('a file created once', () => {
  it('keeps an existing file as it is, and leaves no temp file behind', () => {
    const dir = fresh();
    const file = path.join(dir, 'key');
    expect(readOrCreate(file, () => 'first\n')).toEqual({ text: 'first\n', created: true });
    expect(readOrCreate(file, () => 'second\n')).toEqual({ text: 'first\n', created: false });
    expect(readdirSync(dir)).toEqual(['key']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('processes that start together on an empty DATA_DIR all use the same keys, and one created each', async () => {
    const dir = fresh();
    const [box, keys] = [path.resolve('src/webhooks/secret-box.ts'), path.resolve('src/auth/api-keys.ts')].map((m) => JSON.stringify(m));
    const code =
      `const { SecretBox } = await import(${box}); const { loadKeyRing } = await import(${keys}); ` +
      `const secrets = SecretBox.load(${JSON.stringify(dir)}); const ring = loadKeyRing(undefined, ${JSON.stringify(dir)}); ` +
      `process.stdout.write(JSON.stringify({ sealed: secrets.seal('s'), created: secrets.createdFile !== undefined, admin: ring.keys[0].secret }));`;
    const at = Date.now() + 2_500; // after every process has loaded its code
    const results = (await Promise.all(Array.from({ length: 6 }, () => runAt(at, code)))).map((out) => JSON.parse(out) as { sealed: string; created: boolean; admin: string });
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.admin)).size).toBe(1);
    expect(results[0].admin).toBe(readFileSync(path.join(dir, 'admin-api-key'), 'utf8').trim());
    // Each process can open what every other sealed: one key.
    const key = readFileSync(path.join(dir, SECRETS_KEY_FILE), 'utf8');
    const opener = new SecretBox(Buffer.from(key.trim(), 'base64'));
    for (const { sealed } of results) expect(opener.open(sealed)).toBe('s');
    expect(readdirSync(dir).sort()).toEqual(['admin-api-key', SECRETS_KEY_FILE]);
  }, 30_000);

  it('an existing key file with content is what a start uses', () => {
    const dir = fresh();
    writeFileSync(path.join(dir, 'admin-api-key'), 'ps_admin_given\n', { mode: 0o600 });
    expect(readOrCreate(path.join(dir, 'admin-api-key'), () => 'other\n').text).toBe('ps_admin_given\n');
  });
});
