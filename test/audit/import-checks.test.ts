// The import as an auditor meets it: an export of a seeded service, edited line by
// line, is refused at the line that is wrong, with a message naming what is wrong,
// and nothing of it is written.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogFile } from '../../src/audit/log-file.js';
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

/** Imports with the real CLI into a fresh DATA_DIR; returns the run and the head it left. */
async function importWithCli(file: string): Promise<{ code: number; stderr: string; head: number }> {
  const dataDir = path.join(temp.dir, `import-${++files}`);
  const result = await runCli(['import', file], { DATA_DIR: dataDir });
  const store = new SqliteEventStore(path.join(dataDir, 'events.db'));
  const head = await store.headPosition();
  await store.close();
  return { code: result.code, stderr: result.stderr, head };
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
    expect(await refusal(edited({ [line]: (e) => ({ ...e, position: 1000 }) }))).toBe(
      `line ${line}: position 1000 is out of order: the line before it is at ${before}, the line after it at ${after}`,
    );
    // A line that goes back below the one before the last is the one out of order itself.
    expect(await refusal(edited({ [line + 1]: (e) => ({ ...e, position: 1 }) }))).toMatch(new RegExp(`^line ${line + 1}: position 1 does not follow`));
  });
});
