// A crash between append and projection, or in the middle of a write load:
// after a restart the read model equals a fresh rebuild from the log.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReadModel } from '../../src/read-model/read-model.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { startTestService } from '../helpers/service.js';
import { tempDir } from '../helpers/temp-dir.js';

const fixture = path.resolve(__dirname, '../fixtures/crash-writer.ts');

/** Runs the fixture; resolves with its output once it has died (by its own hand or ours). */
function runChild(args: string[], killWhen?: (output: string) => boolean): Promise<{ output: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (killWhen?.(output)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk) => (errors += chunk));
    child.on('error', reject);
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve({ output, signal }) : reject(new Error(`child exited without SIGKILL: ${errors}`))));
  });
}

async function rebuildFromLog(dataDir: string) {
  const store = new SqliteEventStore(path.join(dataDir, 'events.db'));
  const fresh = new ReadModel(path.join(dataDir, 'rebuild.db'));
  for (let after = 0; ; ) {
    const page = await store.readAll({ after, limit: 500 });
    if (page.length === 0) break;
    fresh.apply(page);
    after = page[page.length - 1].position;
  }
  const dump = fresh.dump();
  fresh.close();
  await store.close();
  return dump;
}

describe('crash recovery', () => {
  it('a process killed after appending, before projecting, recovers on restart to a read model equal to a fresh rebuild', async () => {
    const { dir, cleanup } = tempDir();
    const { output } = await runChild(['append-only', dir, '40']);
    expect(output).toContain('appended 40');

    const service = await startTestService({ dataDir: dir });
    await expect.poll(async () => (await service.app.inject('/health/ready')).statusCode, { timeout: 10_000 }).toBe(200);
    const live = (await service.app.inject('/v1/statements?limit=500')).json().items;
    expect(live).toHaveLength(40);
    await service.close();

    const liveDump = new ReadModel(path.join(dir, 'read-model.db'));
    const expected = await rebuildFromLog(dir);
    expect(liveDump.dump()).toEqual(expected);
    liveDump.close();
    cleanup();
  });

  it('a service killed with SIGKILL under write load loses no acknowledged statement and resumes to a read model equal to a fresh rebuild', async () => {
    const { dir, cleanup } = tempDir();
    const killAfter = 15 + Math.floor(Math.random() * 20);
    const { output } = await runChild(['serve', dir], (out) => (out.match(/^ack /gm)?.length ?? 0) >= killAfter);
    const acknowledged = output.match(/^ack (\d+)$/gm)!.map((line) => `crash-serve-${line.slice(4)}`);
    expect(acknowledged.length).toBeGreaterThanOrEqual(killAfter);

    const service = await startTestService({ dataDir: dir });
    await expect.poll(async () => (await service.app.inject('/health/ready')).statusCode, { timeout: 10_000 }).toBe(200);
    const onRecord = new Set((await service.app.inject('/v1/statements?limit=500')).json().items.map((s: { statementId: string }) => s.statementId));
    for (const id of acknowledged) expect(onRecord).toContain(id);
    await service.close();

    const liveDump = new ReadModel(path.join(dir, 'read-model.db'));
    expect(liveDump.dump()).toEqual(await rebuildFromLog(dir));
    liveDump.close();
    cleanup();
  });
});
