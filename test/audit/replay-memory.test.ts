// POST /v1/admin/replay runs in a worker thread with its own memory limit: a
// replay that needs more fails with a 503 that points to the CLI, and the
// service goes on serving.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { countryStream, newEvent } from '../../events/registry.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { admin, startTestService, untilReady } from '../helpers/service.js';
import { statement } from '../helpers/statements.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the admin replay', () => {
  it('that needs more memory than REPLAY_MEMORY_MB answers 503 naming the CLI, and the service keeps serving', async () => {
    const { dir, cleanup } = tempDir();
    const store = new SqliteEventStore(path.join(dir, 'events.db'));
    for (const country of ['US', 'FR', 'DE', 'GB']) {
      const events = Array.from({ length: 5_000 }, (_, i) =>
        newEvent('StatementRecorded', statement({ statementId: `${country}-${i}`, country, stance: i % 2 ? 'permits' : 'prohibits', effectiveAt: `2024-0${(i % 9) + 1}-1${i % 10}`, notes: 'x'.repeat(500) })),
      );
      await store.append(countryStream(country), events, 'any');
    }
    await store.close();

    const service = await startTestService({ dataDir: dir, env: { REPLAY_MEMORY_MB: '16' } });
    await untilReady(service.app, 60_000);
    const replay = await service.app.inject({ method: 'POST', url: '/v1/admin/replay', headers: admin });
    expect(replay.statusCode).toBe(503);
    expect(replay.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(replay.json().detail).toMatch(/REPLAY_MEMORY_MB.*policy-state replay/);
    expect((await service.app.inject('/v1/countries/US/position?at=2024-06-01')).statusCode).toBe(200);
    expect((await service.app.inject('/health/ready')).statusCode).toBe(200);
    await service.close();
    cleanup();
  }, 120_000);
});
