// A projection version changes: on start the read model is rebuilt in a shadow
// while the old one serves, reads never fail, the swap happens, and the result
// equals a fresh replay.
import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { countryStream, newEvent } from '../../events/registry.js';
import { PROJECTION_VERSION } from '../../projections/versions.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { admin, startTestService, untilReady } from '../helpers/service.js';
import { statement } from '../helpers/statements.js';
import { tempDir } from '../helpers/temp-dir.js';

const COUNTRIES = ['US', 'FR', 'DE', 'GB', 'CA', 'PL', 'NL', 'SE'];

async function writeLog(dataDir: string, perCountry: number): Promise<void> {
  const store = new SqliteEventStore(path.join(dataDir, 'events.db'));
  for (const country of COUNTRIES) {
    const events = Array.from({ length: perCountry }, (_, i) =>
      newEvent(
        'StatementRecorded',
        statement({
          statementId: `${country}-${i}`,
          country,
          stance: i % 2 ? 'permits' : 'prohibits',
          effectiveAt: `202${i % 4}-0${(i % 3) + 1}-10`,
          scope: i % 3 ? { regions: [`area ${i}`] } : {},
        }),
      ),
    );
    await store.append(countryStream(country), events, 'any');
  }
  await store.close();
}

describe('a changed projection version', () => {
  it('rebuilds the read model in a shadow while the old one serves, swaps, and matches a fresh replay', async () => {
    const { dir, cleanup } = tempDir();
    // Large enough that the rebuild takes a while, so reads are seen during it.
    await writeLog(dir, 300);
    const first = await startTestService({ dataDir: dir });
    await untilReady(first.app);
    await first.close();

    // As if the read model had been built by an earlier version of the projections.
    const db = new Database(path.join(dir, 'read-model.db'));
    db.prepare("UPDATE meta SET value = 'positions@0' WHERE key = 'projection_version'").run();
    db.close();

    const service = await startTestService({ dataDir: dir });
    const statuses: number[] = [];
    const readiness = new Set<string>();
    let versions: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const [position, countries, fingerprint, ready] = await Promise.all([
        service.app.inject('/v1/countries/US/position?at=2022-06-01'),
        service.app.inject('/v1/countries'),
        service.app.inject('/v1/audit/fingerprint'),
        service.app.inject('/health/ready'),
      ]);
      statuses.push(position.statusCode, countries.statusCode, fingerprint.statusCode);
      // As the README says: the old read model follows the log while the shadow is built, so the service stays ready.
      if (fingerprint.json().projectionVersion !== PROJECTION_VERSION) readiness.add(`${ready.statusCode} ${JSON.stringify(ready.json())}`);
      versions.push(fingerprint.json().projectionVersion);
      if (fingerprint.json().projectionVersion === PROJECTION_VERSION) break;
      // inject() never leaves the microtask queue; real requests arrive through I/O and let other work in.
      await new Promise((resolve) => setImmediate(resolve));
    }
    versions = [...new Set(versions)];
    expect(versions).toEqual(['positions@0', PROJECTION_VERSION]);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const head = COUNTRIES.length * 300;
    expect([...readiness]).toEqual([`200 ${JSON.stringify({ ready: true, position: head, head })}`]);

    await untilReady(service.app);
    const report = (await service.app.inject({ method: 'POST', url: '/v1/admin/replay', headers: admin })).json();
    expect(report.differences).toEqual([]);
    expect(report.eventsReplayed).toBe(COUNTRIES.length * 300);
    expect((await service.app.inject('/v1/audit/fingerprint')).json().fingerprint).toBe(report.replay.fingerprint);
    await service.close();
    cleanup();
  });
});
