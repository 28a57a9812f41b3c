// Answers of GET /v1/countries/{code}/position are cached (src/http/answer-cache.ts).
// Through the real service (SQLite files, the fastify app via inject()), every
// way an answer can change must show at once: a statement recorded, retracted
// or corroborated, a new day, a report or source dated a little ahead of the
// clock (as a log written before such times were recorded as of now holds them),
// and a rebuilt read model swapped in.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newEvent } from '../../events/registry.js';
import { Tokens } from '../../src/composition.js';
import type { EventStore } from '../../src/store/event-store.js';
import { ReadModel } from '../../src/read-model/read-model.js';
import type { ReadModelSwitch } from '../../src/read-model/swappable.js';
import { kharkiv, kirby, startTestService, writer, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/temp-dir.js';

let service: TestService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

/** A service on a clock the test moves. */
async function serviceAt(instant: string) {
  const clock = { now: new Date(instant) };
  service = await startTestService({ now: () => clock.now });
  const app = service.app;
  return {
    clock,
    app,
    service,
    get: (url: string) => app.inject({ method: 'GET', url }),
    post: async (url: string, payload: object) => {
      const response = await app.inject({ method: 'POST', url, payload, headers: writer });
      expect(response.statusCode, response.body).toBe(201);
      return response.json() as { position: number; revision: number };
    },
  };
}

/**
 * Appends a statement as a log written before the service recorded times ahead of its clock as
 * its now holds it (or an imported one): with its reportedAt and publishedAt as given.
 */
async function appendAsGiven(service: TestService, get: (url: string) => Promise<{ json(): { revision: number } }>, data: Record<string, unknown>) {
  const store = service.container.resolve<EventStore>(Tokens.EventStore);
  const { nextExpectedRevision } = await store.append('country-US', [newEvent('StatementRecorded', { scope: {}, datePrecision: 'day', ...data } as never, {})], 'any');
  await expect.poll(async () => (await get('/v1/countries/US/position?at=2000-01-01')).json().revision).toBe(nextExpectedRevision);
}

const statement = (over: Record<string, unknown>) => ({
  country: 'US',
  speaker: { name: 'A Spokesperson', attribution: 'official' },
  sources: [{ title: 'A report', publishedAt: '2024-06-01', quote: 'said so' }],
  effectiveAt: '2024-06-01',
  reportedAt: '2024-06-01',
  ...over,
});

describe('a cached position answer', () => {
  it('is the same, byte for byte and in its headers, as the answer built afresh', async () => {
    const { get, post } = await serviceAt('2026-03-01T12:00:00.000Z');
    const first = await post('/v1/statements', { ...kirby, statementId: 'us-kirby' });
    await post('/v1/statements', { ...kharkiv, statementId: 'us-kharkiv' });
    const urls = [
      `/v1/countries/US/position?at=2024-06-05&knownAt=2024-05-29&position=${first.position + 1}`,
      `/v1/countries/US/position?at=2024-06-05&position=${first.position + 1}`,
      `/v1/countries/US/position?position=${first.position + 1}`,
    ];
    const built = await Promise.all(urls.map(get));
    const cached = await Promise.all(urls.map(get));
    // Another country's statement empties the cache but changes none of these answers (each names its log position).
    await post('/v1/statements', { ...kirby, country: 'FR' });
    const rebuilt = await Promise.all(urls.map(get));
    for (let i = 0; i < urls.length; i++) {
      for (const response of [cached[i], rebuilt[i]]) {
        expect(response.statusCode).toBe(200);
        expect(response.body).toBe(built[i].body);
        expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(response.headers.etag).toBe('"1"');
        expect(response.headers['content-length']).toBe(String(Buffer.byteLength(built[i].body)));
      }
    }
    expect(built[0].json()).toMatchObject({ at: '2024-06-05', knownAt: '2024-05-29', status: 'prohibited' });
    expect(built[1].json()).toMatchObject({ at: '2024-06-05', knownAt: '2026-03-01T12:00:00.000Z', status: 'restricted' });
    expect(built[2].json()).toMatchObject({ at: '2026-03-01', knownAt: '2026-03-01T12:00:00.000Z', basis: { knownAt: '2026-03-01T12:00:00.000Z' } });
  });

  it('changes when a statement that changes it is recorded, retracted or corroborated', async () => {
    const { get, post } = await serviceAt('2026-03-01T12:00:00.000Z');
    const url = '/v1/countries/US/position?at=2024-06-05';
    expect((await get(url)).json()).toMatchObject({ status: 'unknown', revision: -1 });
    expect((await get(url)).json()).toMatchObject({ status: 'unknown', revision: -1 });

    await post('/v1/statements', { ...kirby, statementId: 'us-kirby' });
    expect((await get(url)).json()).toMatchObject({ status: 'prohibited', revision: 0 });
    expect((await get(url)).headers.etag).toBe('"0"');

    await post('/v1/statements', { ...kharkiv, statementId: 'us-kharkiv' });
    expect((await get(url)).json()).toMatchObject({ status: 'restricted', confidence: { sources: 1 }, revision: 1 });

    await post('/v1/statements/us-kharkiv/sources', { source: { title: 'Another outlet', publishedAt: '2024-05-31', quote: 'counter-fire' } });
    expect((await get(url)).json()).toMatchObject({ status: 'restricted', confidence: { sources: 2 }, revision: 2 });

    await post('/v1/statements/us-kharkiv/retraction', { reason: 'withdrawn', reportedAt: '2024-06-03' });
    const after = (await get(url)).json();
    expect(after).toMatchObject({ status: 'prohibited', revision: 3 });
    expect(after.basis.others).toContainEqual(expect.objectContaining({ statementId: 'us-kharkiv', reason: 'retracted' }));
  });

  it('as known at a past time, changes when a statement reported by then is recorded late', async () => {
    const { get, post } = await serviceAt('2026-03-01T12:00:00.000Z');
    await post('/v1/statements', { ...kirby, statementId: 'us-kirby' });
    const url = '/v1/countries/US/position?at=2024-06-05&knownAt=2024-06-01';
    expect((await get(url)).json().status).toBe('prohibited');
    expect((await get(url)).json().status).toBe('prohibited');
    // Reported on 30 May, recorded only now: as known on 1 June it counts.
    await post('/v1/statements', { ...kharkiv, statementId: 'us-kharkiv' });
    expect((await get(url)).json()).toMatchObject({ status: 'restricted', knownAt: '2024-06-01', basis: { decidingStatementId: 'us-kharkiv' } });
  });

  it('as of a point in the log, carries the stream revision of then, whatever is written later', async () => {
    const { get, post } = await serviceAt('2026-03-01T12:00:00.000Z');
    const first = await post('/v1/statements', { ...kirby, statementId: 'us-kirby' });
    const url = `/v1/countries/US/position?at=2024-06-05&knownAt=2024-06-10&position=${first.position}`;
    expect((await get(url)).json()).toMatchObject({ status: 'prohibited', revision: 0, basis: { position: first.position } });
    await post('/v1/statements', { ...kharkiv, statementId: 'us-kharkiv' });
    const later = await get(url);
    expect(later.json()).toMatchObject({ status: 'prohibited', revision: 0, basis: { position: first.position } });
    expect(later.headers.etag).toBe('"0"');
    // A write against it is a write against a stale view.
    expect((await get('/v1/countries/US/position')).headers.etag).toBe('"1"');
  });

  it('as of a point in the log, counts the revision right where a log holds a statement id recorded twice', async () => {
    const { get, post, service } = await serviceAt('2026-03-01T12:00:00.000Z');
    const first = await post('/v1/statements', { ...kirby, statementId: 'twice' });
    // As two racing requests could append it before the API closed that: the read model ignores the second.
    const store = service.container.resolve<EventStore>(Tokens.EventStore);
    const again = await store.append('country-US', [newEvent('StatementRecorded', { ...kirby, sources: [...kirby.sources], scope: {}, datePrecision: 'day', statementId: 'twice' }, {})], 'any');
    const later = await post('/v1/statements', { ...kharkiv, statementId: 'after-it' });
    await expect.poll(async () => (await get('/v1/countries/US/position')).json().revision).toBe(2);
    expect((await get(`/v1/countries/US/position?position=${first.position}`)).json().revision).toBe(0);
    expect((await get(`/v1/countries/US/position?position=${again.positions[0]}`)).json().revision).toBe(1);
    expect((await get(`/v1/countries/US/position?position=${later.position}`)).json().revision).toBe(2);
  });

  it('as of today, follows the day when it changes, with no event in between', async () => {
    const { clock, get, post } = await serviceAt('2026-03-01T23:58:00.000Z');
    await post('/v1/statements', statement({ stance: 'prohibits', effectiveAt: '2026-02-01', reportedAt: '2026-02-01' }));
    // Announced today, in force from tomorrow.
    await post('/v1/statements', statement({ stance: 'permits', effectiveAt: '2026-03-02', reportedAt: '2026-03-01' }));
    const url = '/v1/countries/US/position';
    expect((await get(url)).json()).toMatchObject({ at: '2026-03-01', status: 'prohibited' });
    expect((await get(url)).json()).toMatchObject({ at: '2026-03-01', status: 'prohibited' });
    clock.now = new Date('2026-03-02T00:00:30.000Z');
    expect((await get(url)).json()).toMatchObject({ at: '2026-03-02', knownAt: '2026-03-02T00:00:30.000Z', status: 'unrestricted' });
  });

  it('as known now, names the instant of each request and counts a report once its time comes', async () => {
    const { clock, get, post, service } = await serviceAt('2026-03-01T12:00:00.000Z');
    await post('/v1/statements', statement({ stance: 'prohibits', statementId: 'no' }));
    // A report stamped three minutes ahead of this server's clock, counted from then on.
    await appendAsGiven(service, get, statement({
      stance: 'permits',
      statementId: 'yes',
      effectiveAt: '2024-07-01',
      reportedAt: '2026-03-01T12:03:00.000Z',
      sources: [{ title: 'A report', publishedAt: '2026-03-01T12:03:00.000Z', quote: 'said so' }],
    }));
    const url = '/v1/countries/US/position?at=2024-08-01';

    const before = (await get(url)).json();
    expect(before).toMatchObject({ status: 'prohibited', knownAt: '2026-03-01T12:00:00.000Z', basis: { knownAt: '2026-03-01T12:00:00.000Z' } });
    expect(before.basis.others).toContainEqual(expect.objectContaining({ statementId: 'yes', reason: 'not-yet-reported' }));

    clock.now = new Date('2026-03-01T12:02:59.999Z');
    expect((await get(url)).json()).toMatchObject({ status: 'prohibited', knownAt: '2026-03-01T12:02:59.999Z', basis: { knownAt: '2026-03-01T12:02:59.999Z' } });

    clock.now = new Date('2026-03-01T12:03:00.000Z');
    expect((await get(url)).json()).toMatchObject({ status: 'unrestricted', knownAt: '2026-03-01T12:03:00.000Z', basis: { decidingStatementId: 'yes' } });

    // A clock set back (an NTP step) is answered for its own instant, not from what was cached after it.
    clock.now = new Date('2026-03-01T12:01:00.000Z');
    expect((await get(url)).json()).toMatchObject({ status: 'prohibited', knownAt: '2026-03-01T12:01:00.000Z' });
  });

  it('as known now, counts a source once it is published', async () => {
    const { clock, get, service } = await serviceAt('2026-03-01T12:00:00.000Z');
    await appendAsGiven(service, get, statement({
      stance: 'prohibits',
      statementId: 'two-sources',
      reportedAt: '2026-03-01T11:00:00.000Z',
      sources: [
        { title: 'First', publishedAt: '2026-03-01T11:00:00.000Z', quote: 'said so' },
        // Ahead of the clock by less than the allowance for clock skew (5 minutes).
        { title: 'Second', publishedAt: '2026-03-01T12:04:00.000Z', quote: 'said so too' },
      ],
    }));
    const url = '/v1/countries/US/position?at=2026-03-01';
    expect((await get(url)).json().confidence).toEqual({ attribution: 'official', sources: 1 });
    clock.now = new Date('2026-03-01T12:03:59.999Z');
    expect((await get(url)).json().confidence).toEqual({ attribution: 'official', sources: 1 });
    clock.now = new Date('2026-03-01T12:04:00.000Z');
    expect((await get(url)).json().confidence).toEqual({ attribution: 'official', sources: 2 });
  });

  it('is dropped when a rebuilt read model is swapped in, even at the same log position', async () => {
    const { get, post } = await serviceAt('2026-03-01T12:00:00.000Z');
    await post('/v1/statements', statement({ stance: 'prohibits', statementId: 'us-1' }));
    const url = '/v1/countries/US/position?at=2024-06-05&knownAt=2024-06-05';
    expect((await get(url)).json().status).toBe('prohibited');
    expect((await get(url)).json().status).toBe('prohibited');

    // Another read model at the same checkpoint, holding something else for the US.
    const other = tempDir();
    const rebuilt = new ReadModel(path.join(other.dir, 'read-model.db'));
    rebuilt.apply([{
      eventId: 'e1',
      type: 'StatementRecorded',
      schemaVersion: 2,
      data: statement({ stance: 'permits', statementId: 'us-1', scope: {}, datePrecision: 'day' }),
      metadata: {},
      streamId: 'country-US',
      streamRevision: 0,
      position: 1,
      recordedAt: '2026-03-01T11:00:00.000Z',
    }]);
    const models = service!.container.resolve<ReadModelSwitch>(Tokens.ReadModels);
    const old = models.current;
    expect(rebuilt.checkpoint().position).toBe(old.checkpoint().position);
    models.swap(rebuilt);
    try {
      expect((await get(url)).json().status).toBe('unrestricted');
    } finally {
      models.swap(old);
      rebuilt.close();
      other.cleanup();
    }
    expect((await get(url)).json().status).toBe('prohibited');
  });
});
