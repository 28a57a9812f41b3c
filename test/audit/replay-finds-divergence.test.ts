// The audit's promise (DOMAIN.md, "Replay and audit"): a replay compared with the
// live read model reports every difference, and none only when the two agree. Parts
// of the rows answers are read from are changed behind the service's back, and
// POST /v1/admin/replay must name each; and after a new day has brought a statement
// into effect, an untouched read model still matches a replay. The real service on
// SQLite files, via inject().
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addDays, dayOf } from '../../projections/time.js';
import { Tokens } from '../../src/composition.js';
import type { ProjectionRunner } from '../../src/read-model/projection-runner.js';
import { admin, kharkiv, kirby, startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

async function record(body: object): Promise<{ statementId: string; position: number }> {
  const created = await service!.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: body });
  expect(created.statusCode, created.body).toBe(201);
  return created.json();
}

async function replay(): Promise<{ position: number; head: number; differences: string[] }> {
  const answer = await service!.app.inject({ method: 'POST', url: '/v1/admin/replay', headers: admin });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json();
}

interface CountryRow {
  code: string;
  revision: number;
  position: number;
  current: string;
  since: string | null;
  statements: number;
  next_change: string | null;
}
interface ChangeRow {
  seq: number;
  id: string;
  type: string;
  country: string;
  position: number;
  recorded_at: string;
  data: string;
}

describe('a replay compared with the live read model', () => {
  it('names each field of each row changed behind the service', async () => {
    service = await startTestService();
    const tomorrow = addDays(dayOf(Date.now()), 1);
    await record({ ...kirby, statementId: 'us-kirby' });
    await record({ ...kharkiv, statementId: 'us-kharkiv' });
    await record({ ...kirby, country: 'FR', stance: 'permits', statementId: 'fr-permits' });
    await record({ ...kharkiv, country: 'CA', statementId: 'ca-kharkiv', effectiveAt: '2024-05-31' });
    // Effective tomorrow: Germany's row names the day its position changes next.
    await record({ ...kirby, country: 'DE', stance: 'permits', statementId: 'de-tomorrow', effectiveAt: tomorrow });
    expect(await replay()).toMatchObject({ differences: [] });

    const db = new Database(path.join(service.dataDir, 'read-model.db'));
    const country = (code: string) => db.prepare<[string], CountryRow>('SELECT * FROM countries WHERE code = ?').get(code)!;
    const [us, fr, ca, de] = ['US', 'FR', 'CA', 'DE'].map(country);
    // As the rules give them: the US restricted since the Kharkiv permission, Germany changing tomorrow.
    expect([us.since, de.next_change]).toEqual(['2024-05-30', tomorrow]);
    const usChanges = db.prepare<[], ChangeRow>("SELECT * FROM changes WHERE country = 'US' ORDER BY seq").all();
    // Kirby's prohibition, then the Kharkiv permission, each changed today's position.
    const [moved, redated] = usChanges.filter((c) => c.type === 'position.changed');
    const retyped = usChanges.find((c) => c.type === 'statement.recorded')!;
    expect([moved, redated, retyped].every(Boolean)).toBe(true);

    // France's row and Canada's written under each other's code: each row is one the log makes, for the other country.
    // France permits without condition (Kirby's words as a permission); Canada is restricted, as the Kharkiv report reads.
    const swapped = ['countries/FR current.status: live has "restricted", replay has "unrestricted"', 'countries/CA current.status: live has "unrestricted", replay has "restricted"'];
    db.transaction(() => {
      const swap = db.prepare('UPDATE countries SET revision = ?, position = ?, current = ?, since = ?, statements = ?, next_change = ? WHERE code = ?');
      swap.run(ca.revision, ca.position, ca.current, ca.since, ca.statements, ca.next_change, 'FR');
      swap.run(fr.revision, fr.position, fr.current, fr.since, fr.statements, fr.next_change, 'CA');
    })();
    // Alone, as the only difference: the fingerprint tells which country a row is of, not only what it holds.
    const onlySwapped = (await replay()).differences;
    for (const line of swapped) expect(onlySwapped, line).toContain(line);

    db.transaction(() => {
      db.prepare("UPDATE countries SET since = '2024-05-01', revision = revision + 5, statements = statements + 1 WHERE code = 'US'").run();
      db.prepare("UPDATE countries SET position = position + 1, next_change = '2999-01-01' WHERE code = 'DE'").run();
      db.prepare("UPDATE changes SET recorded_at = '2001-01-01T00:00:00.000Z', country = 'GB' WHERE seq = ?").run(moved.seq);
      db.prepare("UPDATE changes SET position = position + 1000, data = json_set(data, '$.at', '1999-12-31') WHERE seq = ?").run(redated.seq);
      db.prepare("UPDATE changes SET type = 'statement.retracted' WHERE seq = ?").run(retyped.seq);
      db.prepare("UPDATE statements SET record = json_set(record, '$.notes', 'added behind the service') WHERE statement_id = 'us-kirby'").run();
    })();
    db.close();

    const { differences } = await replay();
    for (const line of [
      `countries/US revision: live has ${us.revision + 5}, replay has ${us.revision}`,
      'countries/US since: live has "2024-05-01", replay has "2024-05-30"',
      `countries/US statements: live has ${us.statements + 1}, replay has ${us.statements}`,
      `countries/DE position: live has ${de.position + 1}, replay has ${de.position}`,
      `countries/DE nextChange: live has "2999-01-01", replay has "${tomorrow}"`,
      ...swapped,
      `changes/${moved.id} country: live has "GB", replay has "US"`,
      `changes/${moved.id} recordedAt: live has "2001-01-01T00:00:00.000Z", replay has "${moved.recorded_at}"`,
      `changes/${redated.id} position: live has ${redated.position + 1000}, replay has ${redated.position}`,
      `changes/${redated.id} data.at: live has "1999-12-31", replay has "${JSON.parse(redated.data).at}"`,
      `changes/${retyped.id} type: live has "statement.retracted", replay has "statement.recorded"`,
      'statements/us-kirby notes: live has "added behind the service", replay has nothing',
    ]) {
      expect(differences, line).toContain(line);
    }
  });

  it('after a new day has brought a statement into effect, finds no difference', async () => {
    let clock = Date.now();
    service = await startTestService({ now: () => new Date(clock) });
    const tomorrow = addDays(dayOf(clock), 1);
    const { statementId, position } = await record({ ...kirby, country: 'NO', stance: 'permits', effectiveAt: tomorrow });
    expect(await replay()).toMatchObject({ position, differences: [] });

    // Midnight passes: Norway's permission takes effect, and the day's change is written.
    clock = Date.parse(`${tomorrow}T00:01:00.000Z`);
    expect(await service.container.resolve<ProjectionRunner>(Tokens.Runner).rollDay()).toBe(true);
    const feed = (await service.app.inject('/v1/changes?after=0&limit=500')).json().items as Array<{ type: string; recordedAt: string; data: { statementId: string } }>;
    expect(feed.filter((c) => c.type === 'position.changed').map((c) => [c.recordedAt, c.data.statementId])).toEqual([[`${tomorrow}T00:00:00.000Z`, statementId]]);

    // The log has not moved; a replay of it, brought to the same day, is the live read model.
    expect(await replay()).toMatchObject({ position, head: position, differences: [] });
  });
});
