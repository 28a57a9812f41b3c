// Replay and audit, as an auditor uses it: rebuild from the log, compare,
// fingerprints that agree across processes and across a replay, explanations,
// and the log exported and imported elsewhere.
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogFile } from '../../src/audit/log-file.js';
import { catchUp, replayFingerprint } from '../../src/audit/replay.js';
import { PROJECTION_VERSION } from '../../projections/versions.js';
import { ReadModel } from '../../src/read-model/read-model.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { admin, kharkiv, kirby, startTestService, untilReady, writer, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '../../src/cli/main.ts');
const replica = path.resolve(__dirname, '../fixtures/replica.ts');
const runCli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', cli, ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

let service: TestService;
const get = (url: string, headers: Record<string, string> = {}) => service.app.inject({ method: 'GET', url, headers });
const post = (url: string, payload: unknown, headers: Record<string, string> = writer) =>
  service.app.inject({ method: 'POST', url, payload: payload as object, headers });

beforeAll(async () => {
  service = await startTestService({ env: { SEED_ON_START: 'true' } });
  await untilReady(service.app);
  await post('/v1/statements', { ...kirby, statementId: 'audit-kirby', effectiveAt: '2024-06-10', reportedAt: '2024-06-10' });
  await post('/v1/statements', { ...kharkiv, statementId: 'audit-leak', effectiveAt: '2024-06-11', reportedAt: '2024-06-11' });
  await post('/v1/statements/audit-leak/retraction', { reason: 'misreported', reportedAt: '2024-06-12' });
});
afterAll(async () => service.stop());

describe('replay', () => {
  it('rebuilds every projection from the first event and finds no difference with the live read model', async () => {
    const response = await post('/v1/admin/replay', {}, admin);
    expect(response.statusCode).toBe(200);
    const report = response.json();
    const head = (await get('/health/ready')).json().head;
    expect(report).toMatchObject({ eventsReplayed: head, head, position: head, differences: [] });
    expect(report.live.fingerprint).toBe(report.replay.fingerprint);
    expect(report.projectionVersion).toBe((await get('/v1/audit/fingerprint')).json().projectionVersion);
    expect(report.eventsPerSecond).toBeGreaterThan(0);
  });

  it('is for admins only', async () => {
    expect((await post('/v1/admin/replay', {}, writer)).statusCode).toBe(403);
    expect((await post('/v1/admin/replay', {}, {})).statusCode).toBe(401);
  });

  it('takes no fields: a body with one is a 400 naming it, not a replay that ignored what was asked', async () => {
    const asked = await post('/v1/admin/replay', { position: 3 }, admin);
    expect(asked.statusCode).toBe(400);
    expect(asked.json().errors).toEqual([{ path: 'body', message: expect.stringContaining('position') }]);
    expect((await service.app.inject({ method: 'POST', url: '/v1/admin/replay', headers: admin })).statusCode).toBe(200);
  });

  it('reports every difference as a readable diff, and the CLI exits non-zero, when the live read model was tampered with', async () => {
    const { dir, cleanup } = tempDir();
    const seeded = await runCli(['seed'], { DATA_DIR: dir });
    expect(seeded.code).toBe(0);
    const follower = await startTestService({ dataDir: dir });
    await expect.poll(async () => (await follower.app.inject('/health/ready')).statusCode).toBe(200);
    await follower.close();

    const clean = await runCli(['replay'], { DATA_DIR: dir });
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.stdout);
    expect(report).toMatchObject({ position: report.head, differences: [] });
    expect(clean.stderr).toContain(`the live read model matches the replay at position ${report.head}, the log's head`);

    const db = new Database(path.join(dir, 'read-model.db'));
    db.prepare("UPDATE countries SET current = json_set(current, '$.status', 'unrestricted') WHERE code = 'BE'").run();
    db.close();
    const tampered = await runCli(['replay'], { DATA_DIR: dir });
    expect(tampered.code).toBe(3);
    expect(JSON.parse(tampered.stdout).differences).toEqual(['countries/BE current.status: live has "unrestricted", replay has "unknown"']);
    expect(tampered.stderr).toContain('1 difference between the live read model and the replay');
    cleanup();
  });

  it('with a live read model behind the log, the CLI compares what it holds, says it is behind, exits 4, and leaves it as it was', async () => {
    const { dir, cleanup } = tempDir();
    expect((await runCli(['seed'], { DATA_DIR: dir })).code).toBe(0);
    // A read model part of the way through the log, as a service stopped while it caught up leaves it.
    const store = new SqliteEventStore(path.join(dir, 'events.db'));
    const head = await store.headPosition();
    const partial = new ReadModel(path.join(dir, 'read-model.db'));
    await catchUp(store, partial, 20);
    partial.close();
    await store.close();

    const behind = await runCli(['replay'], { DATA_DIR: dir });
    expect(behind.code).toBe(4);
    expect(JSON.parse(behind.stdout)).toMatchObject({ eventsReplayed: 20, head, position: 20, differences: [] });
    expect(behind.stderr).toContain(`the live read model had applied the log up to position 20 of ${head}: only that much was compared`);
    const live = new ReadModel(path.join(dir, 'read-model.db'));
    expect(live.checkpoint(true).position).toBe(20);
    live.close();
    cleanup();
  });

  it('with a live read model built by other projection versions (an upgrade not yet started), the CLI compares nothing, says why, exits 5, and leaves the file as it was', async () => {
    const { dir, cleanup } = tempDir();
    expect((await runCli(['seed'], { DATA_DIR: dir })).code).toBe(0);
    const store = new SqliteEventStore(path.join(dir, 'events.db'));
    const file = path.join(dir, 'read-model.db');
    const older = new ReadModel(file, { version: 'positions@0' });
    await catchUp(store, older, await store.headPosition());
    older.close();
    await store.close();
    const bytes = readFileSync(file);

    const run = await runCli(['replay'], { DATA_DIR: dir });
    expect(run.code).toBe(5);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`the read model in DATA_DIR was built with positions@0; this code's projections are ${PROJECTION_VERSION}: nothing was compared`);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    cleanup();
  });
});

describe('fingerprints', () => {
  it('a second process following the same log reports the same fingerprint at the same position', async () => {
    const { dir, cleanup } = tempDir();
    const { position, fingerprint } = (await get('/v1/audit/fingerprint')).json();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', replica, path.join(service.dataDir, 'events.db'), path.join(dir, 'replica.db'), String(position)]);
    expect(JSON.parse(stdout)).toMatchObject({ position, fingerprint });
    cleanup();
  });

  it('a replay to position N gives the fingerprint recorded at N', async () => {
    const events = (await get('/v1/events?limit=500')).json().items as Array<{ position: number; data: { statementId: string } }>;
    const n = events.find((e) => e.data.statementId === 'audit-leak')!.position;
    const recorded = (await get(`/v1/audit/fingerprint?position=${n}`)).json();
    expect(recorded.position).toBe(n);
    const store = new SqliteEventStore(path.join(service.dataDir, 'events.db'));
    expect(await replayFingerprint(store, n, recorded.today)).toBe(recorded.fingerprint);
    expect(await replayFingerprint(store, n - 1, recorded.today)).not.toBe(recorded.fingerprint);
    await store.close();
    expect((await get(`/v1/audit/fingerprint?position=${n - 1}`)).json().fingerprint).not.toBe(recorded.fingerprint);
    expect((await get('/v1/audit/fingerprint?position=99999999')).statusCode).toBe(400);
  });
});

describe('explain', () => {
  it('says why the US position is what it is, with the quote and its source, as JSON', async () => {
    const response = await get('/v1/countries/US/explain?at=2024-06-05');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.status).toBe('restricted');
    expect(body.text).toMatch(/^As of 5 June 2024, as known on .*, the United States of America's position is restricted/);
    const deciding = (await get('/v1/countries/US/position?at=2024-06-05')).json().deciding;
    expect(body.text).toContain(deciding.sources[0].quote);
    expect(body.text).toContain(deciding.sources[0].title);
    expect(body.text).toMatch(/ATACMS is prohibited/);
  });

  it('answers in Markdown when asked', async () => {
    const response = await get('/v1/countries/BE/explain?at=2024-06-05', { accept: 'text/markdown' });
    expect(response.headers['content-type']).toMatch(/^text\/markdown/);
    expect(response.body).toMatch(/^\*\*As of 5 June 2024.*position is unknown\*\*/);
    expect(response.body).toMatch(/\n> /);
  });

  it('reads Accept as HTTP means it: q-values and wildcards decide, and JSON is the default', async () => {
    const typeFor = async (accept?: string) =>
      (await get('/v1/countries/BE/explain?at=2024-06-05', accept === undefined ? {} : { accept })).headers['content-type'];
    expect(await typeFor()).toMatch(/^application\/json/);
    expect(await typeFor('text/markdown;q=0, application/json')).toMatch(/^application\/json/);
    expect(await typeFor('application/json;q=0.5, text/markdown')).toMatch(/^text\/markdown/);
    expect(await typeFor('text/*')).toMatch(/^text\/markdown/);
    expect(await typeFor('*/*')).toMatch(/^application\/json/);
  });
});

describe('export and import of the log', () => {
  it('on a log just imported elsewhere, policy-state replay replays it to its head and prints the fingerprint the original service reports there, comparing nothing', async () => {
    const { dir, cleanup } = tempDir();
    const file = path.join(dir, 'log.jsonl');
    const exported = await runCli(['export', '--out', file], { DATA_DIR: service.dataDir });
    expect(exported.code).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const head = (await get('/health/ready')).json().head;
    // Every event between a first line saying what the file holds and a last one counting it.
    expect(lines).toHaveLength(head + 2);
    expect(JSON.parse(lines[lines.length - 1])).toEqual({ end: { events: head, head } });

    const elsewhere = path.join(dir, 'elsewhere');
    const imported = await runCli(['import', file], { DATA_DIR: elsewhere });
    expect(imported.stderr).toContain(`import: ${head} events imported`);
    const original = (await get(`/v1/audit/fingerprint?position=${head}`)).json();

    const replay = await runCli(['replay'], { DATA_DIR: elsewhere });
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({
      eventsReplayed: head,
      head,
      position: head,
      projectionVersion: original.projectionVersion,
      replay: { fingerprint: original.fingerprint },
      live: null,
      differences: null,
    });
    expect(replay.stderr).toMatch(/nothing was compared: no read model in DATA_DIR has applied the log/);
    expect(replay.stderr).toContain(`GET /v1/audit/fingerprint?position=${head}`);
    // The replay built no read model of its own in DATA_DIR; one that has applied nothing is no better to compare with.
    expect(existsSync(path.join(elsewhere, 'read-model.db'))).toBe(false);
    new ReadModel(path.join(elsewhere, 'read-model.db')).close();
    const again = await runCli(['replay'], { DATA_DIR: elsewhere });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ position: head, replay: { fingerprint: original.fingerprint }, differences: null });

    // Before the head, rolled to the day the original names there: the original's fingerprint at that position.
    const n = head - 2;
    const earlier = (await get(`/v1/audit/fingerprint?position=${n}`)).json();
    expect(earlier.fingerprint).not.toBe(original.fingerprint);
    const atN = await runCli(['replay', '--position', String(n), '--today', earlier.today], { DATA_DIR: elsewhere });
    expect(atN.code).toBe(0);
    expect(JSON.parse(atN.stdout)).toMatchObject({ eventsReplayed: n, head, position: n, today: earlier.today, replay: { fingerprint: earlier.fingerprint }, live: null, differences: null });
    expect(atN.stderr).toContain('nothing was compared: --position asks for the fingerprint only');

    // At 0 no event has given the replay a day: --today has nothing to roll, and says so.
    const atZero = await runCli(['replay', '--position', '0', '--today', earlier.today], { DATA_DIR: elsewhere });
    expect(atZero.code).toBe(0);
    expect(JSON.parse(atZero.stdout)).toMatchObject({ position: 0, today: null, replay: { fingerprint: (await get('/v1/audit/fingerprint?position=0')).json().fingerprint } });
    expect(atZero.stderr).toContain('the log holds no event up to position 0, so there is no day to roll: --today changes nothing.');

    const past = await runCli(['replay', '--position', String(head + 1)], { DATA_DIR: elsewhere });
    expect(past.code).toBe(1);
    expect(past.stderr).toContain(`position ${head + 1} is past the log's head at ${head}`);
    cleanup();
  });

  it('an invalid line stops the import with its line number, and nothing of it is written', async () => {
    const { dir, cleanup } = tempDir();
    const file = path.join(dir, 'log.jsonl');
    await runCli(['export', '--out', file], { DATA_DIR: service.dataDir });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const bad = JSON.parse(lines[4]);
    bad.data.country = 'XX';
    lines[4] = JSON.stringify(bad);
    writeFileSync(file, `${lines.join('\n')}\n`);

    const elsewhere = path.join(dir, 'elsewhere');
    const imported = await runCli(['import', file], { DATA_DIR: elsewhere });
    expect(imported.code).toBe(1);
    expect(imported.stderr).toMatch(/nothing was written: line 5: /);
    // Not even an empty store: replay and export find none there.
    expect(existsSync(elsewhere)).toBe(false);
    await expect(async () => {
      for await (const _ of readLogFile(file)) void _;
    }).rejects.toThrow(/^line 5: StatementRecorded data is not valid/);
    cleanup();
  });
});
