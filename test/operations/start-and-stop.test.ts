// Starting the service as `npm start` does (src/main.ts in a child process):
// configuration errors stop it with a clear message; the first start loads the
// seeds and writes an admin key whose path, never the key, is logged; one log
// line per request; SIGTERM shuts it down gracefully.
import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { freePort } from '../helpers/free-port.js';
import { closedPort } from '../store/kurrentdb-stand-in.js';

const main = path.resolve(__dirname, '../../src/main.ts');

function start(env: Record<string, string>, preload: string[] = [], { readStdout = true } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload.flatMap((url) => ['--import', url]), main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // Held unread (readStdout false) until readFromNow(): a log reader that falls behind, and a pipe that fills.
  const readFromNow = () => child.stdout.on('data', (c) => (stdout += c));
  if (readStdout) readFromNow();
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, readFromNow, output: () => ({ stdout, stderr }) };
}


describe('starting and stopping the service', () => {
  it('a bad configuration value stops the start with a message naming the variable', async () => {
    const { dir, cleanup } = tempDir();
    const run = start({ DATA_DIR: dir, PORT: 'eighty', API_KEYS: 'nocolons' });
    const { code } = await run.exited;
    expect(code).toBe(78);
    expect(run.output().stderr).toMatch(/PORT:/);
    expect(run.output().stderr).toMatch(/API_KEYS: each entry must be name:secret:role/);
    cleanup();
  });

  it.each<{ what: string; env: Record<string, string>; says: RegExp; occupied?: boolean; keyFile?: string }>([
    { what: 'a KURRENTDB_URL the client cannot read', env: { EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://admin:hunter2-pw@127.0.0.1:2113?tls=maybe' }, says: /KURRENTDB_URL for KurrentDB at 127\.0\.0\.1:2113/ },
    { what: 'a HOST that does not resolve', env: { HOST: '999.1.1.1' }, says: /cannot listen on HOST=999\.1\.1\.1 PORT=\d+: .*(ENOTFOUND|EAI_AGAIN)/ },
    { what: 'a PORT already in use', env: { HOST: '127.0.0.1' }, says: /cannot listen on HOST=127\.0\.0\.1 PORT=\d+: .*EADDRINUSE/, occupied: true },
    { what: 'an admin key file holding a short secret', env: {}, says: /admin-api-key must be at least 16 characters/, keyFile: 'short\n' },
  ])('$what stops the start on stderr, naming it, with exit code 78 and no secret', async (c) => {
    const { dir, cleanup } = tempDir();
    if (c.keyFile) writeFileSync(path.join(dir, 'admin-api-key'), c.keyFile, { mode: 0o600 });
    const port = await freePort();
    const occupant = c.occupied ? await new Promise<Server>((resolve) => { const s = createServer().listen(port, '127.0.0.1', () => resolve(s)); }) : undefined;
    try {
      const run = start({ DATA_DIR: dir, PORT: String(port), SEED_ON_START: 'false', ...c.env });
      const { code } = await run.exited;
      expect(run.output().stderr).toMatch(c.says);
      expect(code).toBe(78);
      expect(JSON.stringify(run.output())).not.toContain('hunter2-pw');
      // A start that cannot listen writes nothing first: no log, no key, so DATA_DIR is as it was.
      if (c.what.includes('HOST') || c.what.includes('PORT')) expect(readdirSync(dir)).toEqual([]);
    } finally {
      occupant?.close();
      cleanup();
    }
  });

  it('first start: seeds loaded, admin key written to DATA_DIR and its path logged (never the key), request ids on every request line, and SIGTERM stops it cleanly', async () => {
    const { dir, cleanup } = tempDir();
    // A DATA_DIR that exists already, open to others (a Docker volume, a directory made by hand).
    chmodSync(dir, 0o755);
    const port = await freePort();
    // Two misspelt settings, which change nothing: the start says so.
    const run = start({ DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', WEBHOOK_ALLOWED_HOST: 'hooks.example.org', REPLAY_MEMORY: '512' });
    const base = `http://127.0.0.1:${port}`;
    await expect
      .poll(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status, { timeout: 20_000, interval: 200 })
      .toBe(200);

    const keyFile = path.join(dir, 'admin-api-key');
    const key = readFileSync(keyFile, 'utf8').trim();
    const countries = (await (await fetch(`${base}/v1/countries`)).json()) as { countries: Array<{ code: string }> };
    expect(countries.countries.map((c: { code: string }) => c.code)).toEqual(expect.arrayContaining(['US', 'FR', 'CA', 'BE']));

    const write = await fetch(`${base}/v1/statements`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': 'trace-me-123' },
      body: JSON.stringify({
        country: 'NO', stance: 'endorses', speaker: { attribution: 'official' },
        sources: [{ title: 't', publishedAt: '2024-06-01', quote: 'q' }], effectiveAt: '2024-06-01', reportedAt: '2024-06-01',
      }),
    });
    expect(write.status).toBe(201);
    expect(write.headers.get('x-request-id')).toBe('trace-me-123');

    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code).toBe(0);

    const lines = run.output().stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.find((l) => l.msg?.includes('admin key'))).toMatchObject({ file: keyFile });
    expect(run.output().stdout).not.toContain(key);
    const requestLines = lines.filter((l) => l.msg === 'request completed');
    expect(requestLines.length).toBeGreaterThan(0);
    for (const line of requestLines) expect(line.reqId).toEqual(expect.any(String));
    // One line per request, saying what it was and how it ended.
    expect(lines.filter((l) => l.reqId === 'trace-me-123')).toEqual([
      expect.objectContaining({ msg: 'request completed', method: 'POST', route: '/v1/statements', statusCode: 201, durationMs: expect.any(Number) }),
    ]);
    // One start-up line says what runs where; the last says the shutdown finished.
    expect(lines.find((l) => l.msg === 'policy-state is serving')).toMatchObject({
      address: base,
      store: 'sqlite',
      log: path.join(dir, 'events.db'),
      dataDir: dir,
      seed: { appended: expect.any(Number), alreadyPresent: 0 },
      adminKeyFile: keyFile,
    });
    expect(lines.filter((l) => l.unread)).toEqual([
      expect.objectContaining({ level: 40, unread: ['REPLAY_MEMORY', 'WEBHOOK_ALLOWED_HOST'], msg: expect.stringContaining('misspelt?') }),
    ]);
    expect(lines.some((l) => l.msg?.includes('shutting down'))).toBe(true);
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped', signal: 'SIGTERM' });
    // What the service created in it is its owner's only: the log and webhooks.db hold webhook URLs.
    const files = readdirSync(dir);
    expect(files).toEqual(expect.arrayContaining(['events.db', 'read-model.db', 'webhooks.db', 'admin-api-key', 'webhook-secrets.key']));
    for (const file of files) expect((statSync(path.join(dir, file)).mode & 0o777).toString(8), file).toBe('600');
    cleanup();
  });

  it('on KurrentDB out of reach: the start-up line names its hosts, never the password, and seeding waits for it', async () => {
    const { dir, cleanup } = tempDir();
    const port = await freePort();
    const storePort = await closedPort();
    const run = start({
      DATA_DIR: dir, PORT: String(port), EVENT_STORE: 'kurrentdb', KURRENTDB_URL: `kurrentdb://admin:hunter2-pw@127.0.0.1:${storePort}?tls=false`,
      API_KEYS: 'ops:ops-secret-0123456789:admin',
    });
    onTestFinished(() => void run.child.kill('SIGKILL')); // never left running by a failed expectation
    await expect.poll(() => run.output().stdout.includes('policy-state is serving'), { timeout: 20_000, interval: 100 }).toBe(true);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);

    const lines = run.output().stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.find((l) => l.msg === 'policy-state is serving')).toMatchObject({
      address: `http://127.0.0.1:${port}`, store: 'kurrentdb', log: `127.0.0.1:${storePort}`, dataDir: dir, seed: 'waiting for the event store', apiKeys: 1,
    });
    expect(JSON.stringify(run.output())).not.toMatch(/hunter2-pw|ops-secret/);
    cleanup();
  });

  it('every line is written, the last ("stopped") before the process exits, even when the log reader falls behind', async () => {
    const { dir, cleanup } = tempDir();
    const port = await freePort();
    const run = start({ DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', SEED_ON_START: 'false' }, [], { readStdout: false });
    onTestFinished(() => void run.child.kill('SIGKILL'));
    const base = `http://127.0.0.1:${port}`;
    await expect.poll(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status, { timeout: 20_000, interval: 200 }).toBe(200);
    // Well over a pipe's 64 KB of request lines, none of them read yet: the log's writes wait on the reader.
    for (let i = 0; i < 40; i++) await Promise.all(Array.from({ length: 25 }, () => fetch(`${base}/v1/countries/XX/position?at=2024-06-01&padding=${'x'.repeat(200)}`).then((r) => r.arrayBuffer())));
    run.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    run.readFromNow();
    expect((await run.exited).code).toBe(0);

    const lines = run.output().stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.msg === 'request completed').length).toBe(1_000);
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped', signal: 'SIGTERM' });
    cleanup();
  });

  it('a crash is logged as JSON, at fatal with its stack, before the process exits', async () => {
    const { dir, cleanup } = tempDir();
    const port = await freePort();
    // A fault no code path expects, set off from outside once the service runs.
    const fault = `data:text/javascript,process.on('SIGUSR2', () => { throw new Error('a fault from the test'); });`;
    const run = start({ DATA_DIR: dir, PORT: String(port), SEED_ON_START: 'false' }, [fault]);
    onTestFinished(() => void run.child.kill('SIGKILL'));
    await expect.poll(() => run.output().stdout.includes('policy-state is serving'), { timeout: 20_000, interval: 100 }).toBe(true);
    run.child.kill('SIGUSR2');
    expect((await run.exited).code).not.toBe(0);

    const lines = run.output().stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ level: 60, origin: 'uncaughtException', err: { message: 'a fault from the test', stack: expect.stringContaining('Error: a fault from the test') } });
    cleanup();
  });
});
