// The import as an auditor meets it: an export of a seeded service, edited line by
// line, is refused at the line that is wrong, with a message naming what is wrong,
// and nothing of it is written.
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportLog, ImportLineError, importLogFile, MAX_LINE_BYTES, readLogFile } from '../../src/audit/log-file.js';
import { KurrentDbEventStore } from '../../src/store/kurrentdb-event-store.js';
import { closedPort, StandInKurrentDB } from '../store/kurrentdb-stand-in.js';
import { Tokens } from '../../src/composition.js';
import type { EventStore } from '../../src/store/event-store.js';
import { admin, kharkiv, kirby, startTestService, untilReady, writer } from '../helpers/service.js';
import { loadSeeds } from '../../src/seed/load-seeds.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '../../src/cli/main.ts');
const runCli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', cli, ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

type Line = { position: number; eventId: string; streamId: string; streamRevision: number; type: string; schemaVersion: number; data: Record<string, unknown> };

let temp: ReturnType<typeof tempDir>;
/** The export of a seeded service, as its text lines. */
let exported: string[];
let files = 0;

beforeAll(async () => {
  temp = tempDir();
  const seeded = path.join(temp.dir, 'seeded');
  mkdirSync(seeded);
  const store = new SqliteEventStore(path.join(seeded, 'events.db'));
  await loadSeeds(store);
  await store.close();
  const file = path.join(temp.dir, 'export.jsonl');
  expect((await runCli(['export', '--out', file], { DATA_DIR: seeded })).code).toBe(0);
  exported = readFileSync(file, 'utf8').trim().split('\n');
});
afterAll(() => temp.cleanup());

/** The line (1-based) holding the event that `find` picks. */
function lineOf(find: (event: Line) => boolean): number {
  const index = exported.findIndex((text) => {
    const json = JSON.parse(text) as Line;
    return json.eventId !== undefined && find(json);
  });
  expect(index).toBeGreaterThanOrEqual(0);
  return index + 1;
}
const recordingOf = (statementId: string) => lineOf((e) => e.type === 'StatementRecorded' && e.data.statementId === statementId);

/** The export with each given line (1-based) changed by its edit, written to a new file. */
function edited(edits: Record<number, (event: Line) => Line | string>): string {
  const lines = exported.map((text, i) => {
    const edit = edits[i + 1];
    if (!edit) return text;
    const result = edit(JSON.parse(text) as Line);
    return typeof result === 'string' ? result : JSON.stringify(result);
  });
  const file = path.join(temp.dir, `edited-${++files}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** What readLogFile throws on the file, or 'ok'. */
async function refusal(file: string): Promise<string> {
  try {
    for await (const _ of readLogFile(file)) void _;
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}

/** Imports with the real CLI into a fresh DATA_DIR; returns the run, the head it left and the DATA_DIR. */
async function importWithCli(file: string): Promise<{ code: number; stderr: string; head: number; dataDir: string }> {
  const dataDir = path.join(temp.dir, `import-${++files}`);
  const result = await runCli(['import', file], { DATA_DIR: dataDir });
  // A refused import takes away the store it made: no store is no event.
  if (!existsSync(path.join(dataDir, 'events.db'))) return { code: result.code, stderr: result.stderr, head: 0, dataDir };
  const store = new SqliteEventStore(path.join(dataDir, 'events.db'));
  const head = await store.headPosition();
  await store.close();
  return { code: result.code, stderr: result.stderr, head, dataDir };
}

describe('the export of a seeded service', () => {
  it('imports whole', async () => {
    const file = edited({});
    expect(await refusal(file)).toBe('ok');
    const imported = await importWithCli(file);
    expect(imported.code).toBe(0);
    expect(imported.head).toBe(exported.filter((l) => 'eventId' in JSON.parse(l)).length);
  });
});

describe('an import error names the problem and the line it is on', () => {
  it('an empty file, or one of blank lines only, is refused: an export has its first and end lines even of an empty store', async () => {
    for (const text of ['', '\n\n']) {
      const file = path.join(temp.dir, `empty-${++files}.jsonl`);
      writeFileSync(file, text);
      expect(await refusal(file)).toBe('line 1: the file is empty: an export has at least its first line and its end line');
      const imported = await importWithCli(file);
      expect(imported.code).toBe(1);
      expect(imported.stderr).toContain('nothing was written: line 1: the file is empty');
    }
  });

  it('an event recorded later than this machine\'s clock is refused: it would move the read model\'s today to its day', async () => {
    const future = edited({ 3: (event) => ({ ...event, recordedAt: '2099-01-01T00:00:00.000Z' }) });
    expect(await refusal(future)).toMatch(/^line 3: recordedAt 2099-01-01T00:00:00.000Z is later than this machine's clock \(20\d\d-[^)]*\): a store sets it as it appends/);
    const imported = await importWithCli(future);
    expect(imported.code).toBe(1);
    expect(imported.head).toBe(0);
    // Clocks a few minutes apart are no reason to refuse a log exported a moment ago.
    const soon = new Date(Date.now() + 60_000).toISOString();
    // (On the last event's line, the embedded store's times stay in order.)
    expect(await refusal(edited({ [exported.length - 1]: (event) => ({ ...event, recordedAt: soon }) }))).toBe('ok');
  });

  it('in an export of the embedded store, a recordedAt earlier than the line before is refused at the line that moved', async () => {
    const at = (line: number) => (JSON.parse(exported[line - 1]) as { recordedAt: string }).recordedAt;
    // Moved back: this line is the odd one.
    const back = edited({ 4: (event) => ({ ...event, recordedAt: '2020-01-01T00:00:00.000Z' }) });
    expect(await refusal(back)).toBe(
      `line 4: recordedAt 2020-01-01T00:00:00.000Z is out of order with the line before it at ${at(3)}: the embedded store never records an event earlier than the one before it, so a line was changed`,
    );
    const imported = await importWithCli(back);
    expect(imported.code).toBe(1);
    expect(imported.head).toBe(0);
    // Moved ahead (still within the clocks' skew): the next line is in order with the one before, so this one is blamed.
    const ahead = new Date(Date.now() + 60_000).toISOString();
    expect(await refusal(edited({ 3: (event) => ({ ...event, recordedAt: ahead }) }))).toBe(
      `line 3: recordedAt ${ahead} is out of order with the line after it at ${at(4)}: the embedded store never records an event earlier than the one before it, so a line was changed`,
    );
    // A KurrentDB cluster's nodes stamp events with their own clocks: there, order is not a rule.
    expect(await refusal(edited({ 1: () => '{"export":{"format":1,"store":"kurrentdb"}}', 4: (event) => ({ ...event, recordedAt: '2020-01-01T00:00:00.000Z' }) }))).toBe('ok');
  });

  it('a file that cannot be read stops the import before DATA_DIR or its store is made', async () => {
    const dataDir = path.join(temp.dir, `import-${++files}`);
    for (const file of [path.join(temp.dir, 'no-such-export.jsonl'), temp.dir]) {
      const result = await runCli(['import', file], { DATA_DIR: dataDir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`cannot read ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (no such file|not a file)`));
      expect(existsSync(dataDir)).toBe(false);
    }
  });

  it('a refused import leaves DATA_DIR as it found it: no empty store is left for replay and export to audit', async () => {
    const bad = edited({ 3: () => '{"position": 2,' });
    const made = path.join(temp.dir, `import-${++files}`, 'nested', 'data');
    const refused = await runCli(['import', bad], { DATA_DIR: made });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('nothing was written: line 3: not valid JSON');
    expect(existsSync(path.dirname(path.dirname(made)))).toBe(false);
    const replay = await runCli(['replay'], { DATA_DIR: made });
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain(`no event store at ${path.join(made, 'events.db')}`);

    // A DATA_DIR that was there keeps what it held, and only that.
    const there = path.join(temp.dir, `import-${++files}`);
    mkdirSync(there);
    writeFileSync(path.join(there, 'admin-api-key'), 'an admin key of sixteen characters or more');
    expect((await runCli(['import', bad], { DATA_DIR: there })).code).toBe(1);
    expect(readdirSync(there)).toEqual(['admin-api-key']);
  });

  it('a schema error names every bad field of the data, with its message', async () => {
    const line = recordingOf('ca-2024-05-29-joly-no-condition');
    const file = edited({ [line]: (e) => ({ ...e, data: { ...e.data, stance: 'maybe', sources: [] } }) });
    const message = await refusal(file);
    expect(message).toMatch(new RegExp(`^line ${line}: StatementRecorded data is not valid: `));
    expect(message).toMatch(/data\.stance: [^;]*expected one of/i);
    expect(message).toMatch(/data\.sources: [^;]*>=1/);
    const imported = await importWithCli(file);
    expect(imported.code).toBe(1);
    expect(imported.stderr).toContain(`nothing was written: ${message}`);
    expect(imported.head).toBe(0);
  });

  it('a second line with an event id already seen is refused at that line, naming the first', async () => {
    const first = recordingOf('us-2022-02-24-standing-prohibition');
    const second = recordingOf('fr-2024-05-28-macron-launch-sites');
    const id = (JSON.parse(exported[first - 1]) as Line).eventId;
    const file = edited({ [second]: (e) => ({ ...e, eventId: id }) });
    expect(await refusal(file)).toBe(`line ${second}: event id ${id} is already on line ${first}`);
    const imported = await importWithCli(file);
    expect(imported.code).toBe(1);
    expect(imported.stderr).toContain(`nothing was written: line ${second}: event id ${id} is already on line ${first}`);
    expect(imported.stderr).not.toMatch(/UNIQUE constraint/);
    expect(imported.head).toBe(0);
  });

  it('a position jump is blamed on the line that jumped, not the one after it', async () => {
    const line = recordingOf('ca-2024-05-29-joly-no-condition');
    const before = (JSON.parse(exported[line - 2]) as Line).position;
    const after = (JSON.parse(exported[line]) as Line).position;
    // An export of the embedded store says so on its first line, and its positions run 1, 2, 3...
    expect(await refusal(edited({ [line]: (e) => ({ ...e, position: 1000 }) }))).toBe(
      `line ${line}: position 1000 where ${before + 1} was expected: the embedded store numbers its events 1, 2, 3..., so a line is missing here or out of order`,
    );
    // An export that does not say where it came from (older ones) may have sparse positions: the line that
    // does not fit between its neighbours is the one blamed.
    const older = (file: string) => {
      const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1, -1);
      writeFileSync(file, `${lines.join('\n')}\n`);
      return file;
    };
    expect(await refusal(older(edited({ [line]: (e) => ({ ...e, position: 1000 }) })))).toBe(
      `line ${line - 1}: position 1000 is out of order: the line before it is at ${before}, the line after it at ${after}`,
    );
    // A line that goes back below the one before the last is the one out of order itself.
    expect(await refusal(older(edited({ [line + 1]: (e) => ({ ...e, position: 1 }) })))).toMatch(new RegExp(`^line ${line}: position 1 does not follow`));
  });
});

describe('the bytes of the file', () => {
  /** The events readLogFile reads from `bytes`, as JSON, or what it throws. */
  async function read(bytes: Buffer): Promise<string> {
    const file = path.join(temp.dir, `bytes-${++files}.jsonl`);
    writeFileSync(file, bytes);
    try {
      const events = [];
      for await (const event of readLogFile(file)) events.push(event);
      return JSON.stringify(events);
    } catch (error) {
      return (error as Error).message;
    }
  }
  const exportBytes = () => Buffer.from(`${exported.join('\n')}\n`);

  it('an export passed through Windows (a byte-order mark, CRLF, no last newline) reads as the export itself', async () => {
    const whole = await read(exportBytes());
    expect(whole).toMatch(/^\[/);
    expect(await read(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), exportBytes()]))).toBe(whole);
    expect(await read(Buffer.from(`${exported.join('\r\n')}\r\n`))).toBe(whole);
    expect(await read(Buffer.from(exported.join('\n')))).toBe(whole);
  });

  it('a byte that is not UTF-8 is refused at its line, not read as U+FFFD: a quote would import otherwise than it was exported', async () => {
    const line = recordingOf('us-2024-05-28-kirby-no-change');
    const bytes = exportBytes();
    const at = bytes.indexOf('Kirby');
    expect(at).toBeGreaterThan(0);
    bytes[at + 4] = 0xff;
    expect(await read(bytes)).toBe(`line ${line}: not valid UTF-8: the file is damaged, or was saved in another encoding`);
  });

  it('a line longer than any event is refused at its line before it is held whole', async () => {
    const long = Buffer.concat([Buffer.from(`${exported[0]}\n`), Buffer.alloc(MAX_LINE_BYTES + 1, 'a'), Buffer.from(`\n${exported.slice(1).join('\n')}\n`)]);
    expect(await read(long)).toBe('line 2: longer than 16 MB: no event an export writes is that long');
  });
});

/** An edit that turns a line into a retraction in the same stream, at the same position and revision. */
const retraction = (statementId: string, reportedAt = '2024-06-01') => (e: Line): Line => ({
  ...e,
  type: 'StatementRetracted',
  schemaVersion: 1,
  data: { statementId, reason: 'misreported', reportedAt },
});
/** The lines of SourceAttached events in a stream, in log order: each can be turned into a retraction there. */
const attachmentsIn = (streamId: string) =>
  exported.flatMap((text, i) => {
    const e = JSON.parse(text) as Line;
    return e.type === 'SourceAttached' && e.streamId === streamId ? [i + 1] : [];
  });

describe('a line the API could never have written stops the import there, naming the rule', () => {
  const volker = 'us-2024-05-31-volker-no-systems-off-limits';
  const timeHasCome = 'us-2024-05-30-stoltenberg-time-has-come';

  it('a statement recorded in another country\'s stream', async () => {
    const line = recordingOf('fr-2024-05-28-macron-launch-sites');
    const file = edited({ [line]: (e) => ({ ...e, data: { ...e.data, country: 'DE' } }) });
    expect(await refusal(file)).toBe(`line ${line}: a statement of DE belongs in country-DE, not country-FR`);
    const imported = await importWithCli(file);
    expect(imported.code).toBe(1);
    expect(imported.stderr).toContain(`nothing was written: line ${line}: a statement of DE belongs in country-DE, not country-FR`);
    expect(imported.head).toBe(0);
  });

  it('a statement id recorded again, as two racing requests can write it, imports with a warning', async () => {
    const taken = 'us-2022-02-24-standing-prohibition';
    const at = (JSON.parse(exported[recordingOf(taken) - 1]) as Line).position;
    const kirby = recordingOf('us-2024-05-28-kirby-no-change');
    const again = await importWithCli(edited({ [kirby]: (e) => ({ ...e, data: { ...e.data, statementId: taken } }) }));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`import: warning: line ${kirby}: statement ${taken} is recorded again at position ${(JSON.parse(exported[kirby - 1]) as Line).position} in country-US (first at ${at} in country-US)`);
    expect(again.head).toBe(exported.length - 2);
  });

  it('a source or a retraction naming a statement not recorded earlier in its stream', async () => {
    const [frenchSource] = attachmentsIn('country-FR');
    // Recorded earlier, but for Germany.
    expect(await refusal(edited({ [frenchSource]: (e) => ({ ...e, data: { ...e.data, statementId: 'de-2024-05-28-scholz-support' } }) }))).toBe(
      `line ${frenchSource}: SourceAttached names statement de-2024-05-28-scholz-support, which is not recorded earlier in country-FR`,
    );
    // The same country, but recorded only later.
    const [firstUs] = attachmentsIn('country-US');
    expect(recordingOf(volker)).toBeGreaterThan(firstUs);
    expect(await refusal(edited({ [firstUs]: (e) => ({ ...e, data: { ...e.data, statementId: volker } }) }))).toBe(
      `line ${firstUs}: SourceAttached names statement ${volker}, which is not recorded earlier in country-US`,
    );
    expect(await refusal(edited({ [firstUs]: retraction('fr-2024-05-28-macron-launch-sites') }))).toBe(
      `line ${firstUs}: StatementRetracted names statement fr-2024-05-28-macron-launch-sites, which is not recorded earlier in country-US`,
    );
    expect(await refusal(edited({ [firstUs]: retraction('no-such-statement') }))).toMatch(/names statement no-such-statement, which is not recorded earlier/);
  });

  it('a retraction of a statement already retracted, or dated before the statement', async () => {
    const [second, last] = attachmentsIn('country-US').slice(-2);
    expect(second).toBeGreaterThan(recordingOf(volker));
    const file = edited({ [second]: retraction(volker), [last]: retraction(volker, '2024-06-02') });
    expect(await refusal(file)).toBe(`line ${last}: statement ${volker} is already retracted`);
    const imported = await importWithCli(file);
    expect(imported.code).toBe(1);
    expect(imported.stderr).toContain(`nothing was written: line ${last}: statement ${volker} is already retracted`);
    expect(imported.head).toBe(0);

    expect(await refusal(edited({ [second]: retraction(volker, '2024-05-01') }))).toBe(`line ${second}: the retraction of ${volker} is reported before the statement it retracts`);
  });

  it('a correction of a statement that is not an earlier one of the same country', async () => {
    const line = recordingOf(volker);
    const supersedes = (id: string) => edited({ [line]: (e) => ({ ...e, data: { ...e.data, supersedes: id } }) });
    expect(await refusal(supersedes('fr-2024-05-28-macron-launch-sites'))).toBe(
      `line ${line}: supersedes fr-2024-05-28-macron-launch-sites, which is not an earlier statement of US`,
    );
    expect(await refusal(supersedes('no-such-statement'))).toBe(`line ${line}: supersedes no-such-statement, which is not an earlier statement of US`);
    const earlier = recordingOf(timeHasCome);
    expect(earlier).toBeLessThan(line);
    expect(await refusal(edited({ [earlier]: (e) => ({ ...e, data: { ...e.data, supersedes: volker } }) }))).toBe(
      `line ${earlier}: supersedes ${volker}, which is not an earlier statement of US`,
    );
  });

  it('the same edits made within the rules import', async () => {
    const [second] = attachmentsIn('country-US').slice(-2);
    const file = edited({
      [recordingOf(volker)]: (e) => ({ ...e, data: { ...e.data, supersedes: timeHasCome } }),
      [second]: retraction(volker, '2024-06-01'),
    });
    expect(await refusal(file)).toBe('ok');
    const imported = await importWithCli(file);
    expect(imported.code).toBe(0);
    expect(imported.head).toBe(exported.filter((l) => 'eventId' in JSON.parse(l)).length);
  });
});

describe('whatever the service itself writes', () => {
  it('exports and imports whole, and replays to the fingerprint the service reports: seeds, corrections, retractions, sources, webhook endpoints, events of an old schema version', async () => {
    const service = await startTestService({ env: { SEED_ON_START: 'true', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } });
    try {
      await untilReady(service.app);
      const post = (url: string, payload: object, headers = writer) => service.app.inject({ method: 'POST', url, payload, headers });
      const endpoint = await post('/v1/webhooks', { url: 'http://127.0.0.1:9/hooks' }, admin);
      expect(endpoint.statusCode).toBe(201);
      expect((await post(`/v1/webhooks/${endpoint.json().id}/rotate-secret`, {}, admin)).statusCode).toBe(200);
      expect((await post('/v1/statements', { ...kirby, statementId: 'imp-kirby' })).statusCode).toBe(201);
      expect((await post('/v1/statements', { ...kirby, statementId: 'imp-kirby-fixed', effectiveAt: '2024-05-27', supersedes: 'imp-kirby' })).statusCode).toBe(201);
      expect((await post('/v1/statements', { ...kharkiv, statementId: 'imp-leak' })).statusCode).toBe(201);
      expect((await post('/v1/statements/imp-leak/sources', { source: { ...kharkiv.sources[0], publisher: 'Reuters', publishedAt: '2024-05-29' } })).statusCode).toBe(201);
      // Dated after the source attached just now, though before the statement's own reportedAt: the API accepts it.
      expect((await post('/v1/statements/imp-leak/retraction', { reason: 'misreported', reportedAt: '2024-05-29T12:00:00Z' })).statusCode).toBe(201);
      // A statement of the first schema version, as logs written before the second hold them.
      const store = service.container.resolve<EventStore>(Tokens.EventStore);
      const v1 = { statementId: 'mt-v1', country: 'MT', stance: 'permits', scope: {}, speakerName: 'A Minister', attribution: 'official', source: { title: 'v1', publishedAt: '2024-06-01', quote: 'yes' }, effectiveAt: '2024-06-01', reportedAt: '2024-06-01' };
      await store.append('country-MT', [{ eventId: '0b7e4c1d-2f3a-4e5b-8c6d-7a8b9c0d1e2f', type: 'StatementRecorded', schemaVersion: 1, data: v1, metadata: {} }], 'no-stream');
      expect((await post('/v1/statements/mt-v1/retraction', { reason: 'never said', reportedAt: '2024-06-02' })).statusCode).toBe(201);
      await untilReady(service.app);
      const original = (await service.app.inject('/v1/audit/fingerprint')).json();

      const file = path.join(temp.dir, 'service.jsonl');
      expect((await runCli(['export', '--out', file], { DATA_DIR: service.dataDir })).code).toBe(0);
      const types = new Set(readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Line).type));
      expect([...types].filter((t) => t?.startsWith('WebhookEndpoint'))).not.toEqual([]);
      const imported = await importWithCli(file);
      expect(imported.stderr).not.toMatch(/stopped/);
      expect(imported.code).toBe(0);
      expect(imported.head).toBe(original.position);
      const replay = await runCli(['replay', '--position', String(original.position), '--today', original.today], { DATA_DIR: imported.dataDir });
      expect(JSON.parse(replay.stdout)).toMatchObject({ position: original.position, replay: { fingerprint: original.fingerprint } });
    } finally {
      await service.stop();
    }
  });
});

/** The export with the lines (1-based) at `drop` left out, and the rest as they were. */
function without(...drop: number[]): string {
  const file = path.join(temp.dir, `cut-${++files}.jsonl`);
  writeFileSync(file, `${exported.filter((_, i) => !drop.includes(i + 1)).join('\n')}\n`);
  return file;
}

describe('into KurrentDB, which has no transaction across streams', () => {
  it('a bad line, or a log cut short, is found before the first event is written; the file put right imports whole', async () => {
    const kurrent = new KurrentDbEventStore(new StandInKurrentDB().client(), 'stand-in:2113', { streamPrefixes: ['country-', 'webhook-'] });
    const events = exported.filter((l) => 'eventId' in JSON.parse(l)).length;
    // The last event's line: every stream before it would have been written by then.
    const last = exported.length - 1;
    const badLast = edited({ [last]: (e) => ({ ...e, data: { ...e.data, statementId: 42 } }) });
    const error = await importLogFile(kurrent, badLast).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportLineError);
    expect((error as ImportLineError).line).toBe(last);
    expect(await kurrent.readAll({ after: 0, limit: 10 })).toEqual([]);
    // The command line says so, and checks before it even reaches the server (here, none listens).
    const cli = await runCli(['import', badLast], { EVENT_STORE: 'kurrentdb', KURRENTDB_URL: `kurrentdb://127.0.0.1:${await closedPort()}?tls=false`, DATA_DIR: temp.dir });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(`import stopped, nothing was written: line ${last}: `);

    const cut = path.join(temp.dir, 'cut-short.jsonl');
    writeFileSync(cut, `${exported.slice(0, -1).join('\n')}\n`);
    await expect(importLogFile(kurrent, cut)).rejects.toThrow(`line ${exported.length}: the end line is missing: the log is cut short`);
    expect(await kurrent.readAll({ after: 0, limit: 10 })).toEqual([]);

    const checked: number[] = [];
    expect(await importLogFile(kurrent, edited({}), { onChecked: (n) => checked.push(n) })).toBe(events);
    expect(checked).toEqual([events]);
    expect(await kurrent.readAll({ after: 0, limit: events + 1 })).toHaveLength(events);
    await kurrent.close();
  });
});

describe('a line missing from an export, or out of order, stops the import', () => {
  it('an export says what it holds on its first and last lines', () => {
    expect(JSON.parse(exported[0])).toEqual({ export: { format: 1, store: 'sqlite' } });
    const events = exported.length - 2;
    expect(JSON.parse(exported[exported.length - 1])).toEqual({ end: { events, head: events } });
  });

  // Sweden's only statement: without it, every stream's revisions still run in sequence.
  const sweden = () => recordingOf('se-2024-05-29-reported-support');

  it('from the embedded store, a line removed from the middle or moved is found at its place', async () => {
    const line = sweden();
    const position = (JSON.parse(exported[line - 1]) as Line).position;
    const removed = await importWithCli(without(line));
    expect(removed.code).toBe(1);
    expect(removed.stderr).toContain(
      `nothing was written: line ${line}: position ${position + 1} where ${position} was expected: the embedded store numbers its events 1, 2, 3..., so a line is missing here or out of order`,
    );
    expect(removed.head).toBe(0);

    const swapped = [...exported];
    [swapped[line - 1], swapped[line]] = [swapped[line], swapped[line - 1]];
    const file = path.join(temp.dir, 'swapped.jsonl');
    writeFileSync(file, `${swapped.join('\n')}\n`);
    expect(await refusal(file)).toMatch(new RegExp(`^line ${line}: position ${position + 1} where ${position} was expected`));
  });

  it('a log cut short, or without its first line, is refused', async () => {
    const last = exported.length;
    const cut = await importWithCli(without(last - 4, last - 3, last - 2, last - 1, last));
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(`nothing was written: line ${last - 4}: the end line is missing: the log is cut short`);
    expect(cut.head).toBe(0);
    const events = last - 2;
    expect(await refusal(without(last - 1))).toBe(`line ${last - 1}: the end line says ${events} events up to position ${events}, but ${events - 1} were read, up to ${events - 1}: lines are missing`);
    expect(await refusal(without(1))).toBe(`line ${last - 1}: an end line, but the first line does not say what the export holds: it is missing`);
    expect(await refusal(edited({ 1: () => '{"export":{"format":2,"store":"sqlite"}}' }))).toBe('line 1: export format 2 is newer than this code reads (1)');
    const joined = path.join(temp.dir, 'joined.jsonl');
    writeFileSync(joined, `${[...exported, ...exported].join('\n')}\n`);
    expect(await refusal(joined)).toBe(`line ${last + 1}: nothing may follow the end line (line ${last})`);
    expect(await refusal(edited({ [last]: () => exported[0] }))).toBe(`line ${last}: only an export's first line says what it holds: two exports joined?`);
  });

  it('an export written before exports said what they hold still imports, with a warning that a missing line goes unseen', async () => {
    const old = await importWithCli(without(1, exported.length));
    expect(old.code).toBe(0);
    expect(old.stderr).toContain('import: warning: line 1 does not say what the log holds (it was exported before exports did): a line missing from it cannot be detected');
    expect(old.head).toBe(exported.length - 2);

    const line = sweden();
    const position = (JSON.parse(exported[line - 1]) as Line).position;
    const gap = await importWithCli(without(1, line, exported.length));
    expect(gap.code).toBe(0);
    expect(gap.stderr).toContain(
      `import: warning: positions skip from ${position - 1} to ${position + 1} at line ${line - 1}: if the log came from the embedded store, which numbers its events 1, 2, 3..., a line is missing there`,
    );
  });

  it('from KurrentDB, whose positions are sparse, a missing line is found by the count on the end line', async () => {
    const kurrent = new KurrentDbEventStore(new StandInKurrentDB().client(), 'stand-in:2113', { streamPrefixes: ['country-', 'webhook-'] });
    await kurrent.importEvents(readLogFile(path.join(temp.dir, 'export.jsonl')));
    const file = path.join(temp.dir, 'kurrent.jsonl');
    const out = createWriteStream(file);
    const count = await exportLog(kurrent, 'kurrentdb', out);
    out.end();
    await finished(out);
    await kurrent.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0])).toEqual({ export: { format: 1, store: 'kurrentdb' } });
    const head = (JSON.parse(lines[lines.length - 2]) as Line).position;
    expect(head).toBeGreaterThan(count); // sparse
    expect(JSON.parse(lines[lines.length - 1])).toEqual({ end: { events: count, head } });
    expect(await refusal(file)).toBe('ok');

    const line = lines.findIndex((l) => l.includes('"se-2024-05-29-reported-support"')) + 1;
    writeFileSync(file, `${lines.filter((_, i) => i !== line - 1).join('\n')}\n`);
    expect(await refusal(file)).toBe(`line ${lines.length - 1}: the end line says ${count} events up to position ${head}, but ${count - 1} were read, up to ${head}: lines are missing`);
    const target = new SqliteEventStore(path.join(temp.dir, 'from-kurrent.db'));
    await expect(target.importEvents(readLogFile(file))).rejects.toThrow(/lines are missing/);
    expect(await target.headPosition()).toBe(0);
    await target.close();
  });
});
