// A DATA_DIR the service cannot use stops the start, as `npm start` runs it
// (src/main.ts in a child process), with a message that says what is wrong
// and what to do, and leaves every file as it was: a read-only mount, a full
// disk, a database file that is not a sound SQLite database.
//
// Read-only and full are real here, not simulated: a read-only bind mount
// (root passes permission bits, so chmod would prove nothing) and a tmpfs
// filled to the last byte. Both need mount(2); where it is not permitted the
// test says so and is skipped.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startTestService, untilReady } from '../helpers/service.js';
import { tempDir } from '../helpers/temp-dir.js';

const main = path.resolve(__dirname, '../../src/main.ts');
const scratch = tempDir('policy-state-bad-env-');
const mounted: string[] = [];

/** A data dir as a stopped service left it: the seeds in the log, the read model, the webhook store, the keys. */
let goodData: string;

beforeAll(async () => {
  goodData = path.join(scratch.dir, 'good');
  const service = await startTestService({ dataDir: goodData, env: { SEED_ON_START: 'true', API_KEYS: '' } });
  await untilReady(service.app);
  await service.close();
  expect(readdirSync(goodData)).toEqual(expect.arrayContaining(['events.db', 'read-model.db', 'webhooks.db', 'admin-api-key']));
}, 30_000);

afterAll(() => {
  for (const dir of mounted.reverse()) execFileSync('umount', [dir], { stdio: 'pipe' });
  scratch.cleanup();
});

function copyOfGoodData(name: string): string {
  const dir = path.join(scratch.dir, name);
  cpSync(goodData, dir, { recursive: true });
  return dir;
}

/** Every file and directory under `dir`: its size, its modification time and, for files, its content hash. */
function snapshot(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const visit = (at: string) => {
    const stat = statSync(at);
    const name = path.relative(dir, at) || '.';
    if (stat.isDirectory()) {
      entries[name] = `dir mtime=${stat.mtimeMs}`;
      for (const child of readdirSync(at)) visit(path.join(at, child));
    } else {
      entries[name] = `file size=${stat.size} mtime=${stat.mtimeMs} sha256=${createHash('sha256').update(readFileSync(at)).digest('hex')}`;
    }
  };
  visit(dir);
  return entries;
}

/** Runs src/main.ts on DATA_DIR; resolves with how it exited (a start that succeeds is killed and reported as such). */
function start(dataDir: string, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', SEED_ON_START: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
    // It should never get this far; if it does, stop it so the test fails on the exit code rather than hanging.
    if (stdout.includes('Server listening')) child.kill('SIGKILL');
  });
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr, stdout })));
}

/** mount(8) as root; false (and the reason, for the skip message) where it is not permitted. */
function mount(args: string[], target: string): { ok: true } | { ok: false; reason: string } {
  try {
    execFileSync('mount', [...args, target], { stdio: 'pipe' });
    if (!args.some((a) => a.startsWith('remount'))) mounted.push(target);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: String((error as { stderr?: Buffer }).stderr ?? error).trim() };
  }
}

function skipUnless(ctx: TestContext, result: { ok: true } | { ok: false; reason: string }, what: string) {
  if (!result.ok) ctx.skip(`${what} needs mount(2), which is not permitted here (${result.reason}); this case is not tested on this machine`);
}

describe('a bad setting stops the start with exit 78 (EX_CONFIG) and a message naming it', () => {
  it.each([
    ['PORT', 'abc'],
    ['TRUST_PROXY', 'bogus'],
    ['WEBHOOK_TIMEOUT_MS', 'abc'],
    // An entry that would match no URL's host, so allow nothing it was meant to.
    ['WEBHOOK_ALLOWED_HOSTS', '127.0.0.1:4300'],
  ])('%s=%s', async (name, value) => {
    const dir = path.join(scratch.dir, `config-${name}`);
    mkdirSync(dir);
    const exited = await start(dir, { [name]: value });
    expect(exited.code, exited.stderr).toBe(78);
    expect(exited.stderr).toMatch(new RegExp(`^policy-state: invalid (webhook )?configuration:\\n.*${name}`, 's'));
    // Nothing was created in DATA_DIR.
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('a data directory the service cannot use stops the start and changes nothing', () => {
  it('read-only: a read-only bind mount over existing data stops with exit 73 and a message naming the directory', async (ctx) => {
    const dir = copyOfGoodData('read-only');
    skipUnless(ctx, mount(['--bind', dir], dir), 'a read-only bind mount');
    skipUnless(ctx, mount(['-o', 'remount,ro,bind'], dir), 'a read-only bind mount');
    const before = snapshot(dir);

    const { code, stderr } = await start(dir);
    expect(code).toBe(73);
    expect(stderr).toContain(`policy-state: cannot start: DATA_DIR ${dir} is not writable: the file system is mounted read-only`);
    expect(snapshot(dir)).toEqual(before);
  });

  it('read-only: a DATA_DIR that does not exist yet, under a read-only mount, stops with exit 73 and nothing is created', async (ctx) => {
    const parent = path.join(scratch.dir, 'read-only-parent');
    mkdirSync(parent);
    skipUnless(ctx, mount(['--bind', parent], parent), 'a read-only bind mount');
    skipUnless(ctx, mount(['-o', 'remount,ro,bind'], parent), 'a read-only bind mount');
    const before = snapshot(parent);

    const { code, stderr } = await start(path.join(parent, 'data'));
    expect(code).toBe(73);
    expect(stderr).toContain(`DATA_DIR ${path.join(parent, 'data')} does not exist and cannot be created in ${parent}: the file system is mounted read-only`);
    expect(snapshot(parent)).toEqual(before);
  });

  it('full: a tmpfs filled to the last byte, holding existing data, stops with exit 73 and a message with the free space', async (ctx) => {
    const dir = path.join(scratch.dir, 'full');
    mkdirSync(dir);
    skipUnless(ctx, mount(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs'], dir), 'a small tmpfs');
    cpSync(goodData, dir, { recursive: true });
    // Fill it: write until the file system refuses (ENOSPC).
    const filler = openSync(path.join(dir, 'filler'), 'w');
    const block = Buffer.alloc(4096, 1);
    try {
      for (;;) writeSync(filler, block);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(filler);
    }
    const before = snapshot(dir);

    const { code, stderr } = await start(dir);
    expect(code).toBe(73);
    expect(stderr).toMatch(new RegExp(`DATA_DIR ${dir} has 0\\.\\d\\d MB free; the service needs at least 32 MB \\(MIN_FREE_DISK_MB\\)`));
    expect(snapshot(dir)).toEqual(before);
  });

  it('corrupt: an events.db that is not a database at all stops with exit 65 and says to restore the log from a backup', async () => {
    const dir = copyOfGoodData('garbage');
    writeFileSync(path.join(dir, 'events.db'), 'these bytes were once an event log\n'.repeat(200));
    const before = snapshot(dir);

    const { code, stderr } = await start(dir);
    expect(code).toBe(65);
    expect(stderr).toContain(`${path.join(dir, 'events.db')} is not a sound SQLite database (the file does not start with the SQLite header)`);
    expect(stderr).toContain('restore it from a backup');
    expect(snapshot(dir)).toEqual(before);
  });

  it('corrupt: a truncated events.db stops with exit 65 and changes nothing', async () => {
    const dir = copyOfGoodData('truncated');
    const file = path.join(dir, 'events.db');
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    writeFileSync(file, bytes.subarray(0, pageSize * Math.floor(bytes.length / pageSize / 2)));
    const before = snapshot(dir);

    const { code, stderr } = await start(dir);
    expect(code).toBe(65);
    expect(stderr).toMatch(/events\.db is not a sound SQLite database \(its header counts \d+ pages but the file holds \d+: it was truncated\)/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('corrupt: an events.db with a damaged page inside is caught by SQLite\'s quick_check, exit 65, nothing changed', async () => {
    const dir = copyOfGoodData('damaged-page');
    const file = path.join(dir, 'events.db');
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    const pages = bytes.length / pageSize;
    expect(pages).toBeGreaterThan(3);
    // Every page after the first two (the schema and the table's root) scribbled over: the header still looks right.
    bytes.fill(0x5a, pageSize * 2);
    writeFileSync(file, bytes);
    const before = snapshot(dir);

    const { code, stderr } = await start(dir);
    expect(code).toBe(65);
    expect(stderr).toMatch(/events\.db is not a sound SQLite database \(.*(malformed|corrupt|invalid|tree|page)/i);
    expect(snapshot(dir)).toEqual(before);
  });

  it('corrupt: a damaged read-model.db stops too, and says the read model can be moved aside and rebuilt from the log', async () => {
    const dir = copyOfGoodData('read-model');
    writeFileSync(path.join(dir, 'read-model.db'), Buffer.alloc(8192, 0xff));
    const before = snapshot(dir);

    const { code, stderr } = await start(dir);
    expect(code).toBe(65);
    expect(stderr).toContain('read-model.db is not a sound SQLite database');
    expect(stderr).toContain('move it aside and start again to rebuild it from the log');
    expect(snapshot(dir)).toEqual(before);
  });
});
