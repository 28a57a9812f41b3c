// The REST API through the real app: SQLite files in a temp dir, fastify via inject().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, kharkiv, kirby, startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service.stop());

const post = (url: string, payload: unknown, headers: Record<string, string> = writer) =>
  service.app.inject({ method: 'POST', url, payload: payload as object, headers });
const get = (url: string) => service.app.inject({ method: 'GET', url });

describe('recording statements and reading positions', () => {
  it('records a statement (201 with its id and log position) and reads it back at once', async () => {
    const created = await post('/v1/statements', { ...kirby, statementId: 'us-kirby' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ statementId: 'us-kirby', country: 'US', revision: 0 });
    expect(created.headers.location).toBe('/v1/statements/us-kirby');
    const read = await get('/v1/statements/us-kirby');
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ statementId: 'us-kirby', retraction: null, sources: kirby.sources });
  });

  it('answers the position as of a day and as known at a time, with the evidence', async () => {
    await post('/v1/statements', { ...kharkiv, statementId: 'us-kharkiv' });
    const june = (await get('/v1/countries/US/position?at=2024-06-05')).json();
    expect(june).toMatchObject({
      country: 'US',
      status: 'restricted',
      weapons: [{ system: 'ATACMS', status: 'prohibited', statementId: 'us-kharkiv' }],
      confidence: { attribution: 'anonymous-official', sources: 1 },
      deciding: { statementId: 'us-kharkiv' },
      basis: { decidingStatementId: 'us-kharkiv', others: [{ statementId: 'us-kirby', reason: 'older' }] },
    });
    const knownBefore = (await get('/v1/countries/US/position?at=2024-06-05&knownAt=2024-05-29')).json();
    expect(knownBefore.status).toBe('prohibited');
    expect(knownBefore.basis.others).toContainEqual(expect.objectContaining({ statementId: 'us-kharkiv', reason: 'not-yet-reported' }));
  });

  it('lists countries with their current status and serves the history as intervals', async () => {
    const countries = (await get('/v1/countries')).json().countries;
    expect(countries).toContainEqual(expect.objectContaining({ code: 'US', status: 'restricted', since: '2024-05-30', statements: 2 }));
    const history = (await get('/v1/countries/US/history')).json();
    expect(history.intervals.map((i: { from: string; status: string }) => [i.from, i.status])).toEqual([
      ['2024-05-28', 'prohibited'],
      ['2024-05-30', 'restricted'],
    ]);
    expect(history.statements).toHaveLength(2);
  });

  it('a valid country with nothing on record is unknown, not an error', async () => {
    const position = await get('/v1/countries/NZ/position');
    expect(position.statusCode).toBe(200);
    expect(position.json()).toMatchObject({ status: 'unknown', deciding: null });
  });

  it('attaches a corroborating source and retracts a statement', async () => {
    const attached = await post('/v1/statements/us-kharkiv/sources', {
      source: { publisher: 'Reuters', title: 'US allows limited strikes', publishedAt: '2024-05-31', quote: 'counter-fire' },
    });
    expect(attached.statusCode).toBe(201);
    expect((await get('/v1/statements/us-kharkiv')).json().sources).toHaveLength(2);
    // The same report again (a retry without an Idempotency-Key, another quote from it) adds no evidence.
    for (const again of [
      { publisher: 'Reuters', title: 'US allows limited strikes', publishedAt: '2024-05-31', quote: 'counter-fire' },
      { publisher: 'reuters', title: 'US Allows Limited Strikes', publishedAt: '2024-05-31T09:00:00Z', quote: 'another line of it' },
    ]) {
      const refused = await post('/v1/statements/us-kharkiv/sources', { source: again });
      expect(refused.statusCode, refused.body).toBe(409);
      expect(refused.json().detail).toContain('already attached');
    }
    expect((await get('/v1/countries/US/position?at=2024-06-01')).json().confidence).toEqual({ attribution: 'anonymous-official', sources: 2 });
    // Within one statement too, by URL when both have one.
    const twice = await post('/v1/statements', {
      ...kirby,
      sources: [{ ...kirby.sources[0], url: 'https://example.org/a#top' }, { ...kirby.sources[0], title: 'Another title', url: 'https://example.org/a' }],
    });
    expect(twice.statusCode).toBe(422);
    expect(twice.json().errors).toEqual([{ path: 'body.sources.1', message: expect.stringContaining('same report as sources.0') }]);

    // A field left out is said to be required, not to be of the wrong form.
    const unsaid = await post('/v1/statements/us-kharkiv/retraction', {});
    expect(unsaid.statusCode).toBe(400);
    expect(unsaid.json().errors).toEqual([
      { path: 'body.reason', message: 'is required' },
      { path: 'body.reportedAt', message: 'is required' },
    ]);
    expect((await post('/v1/statements', { ...kirby, statementId: undefined, stance: undefined })).json().errors).toEqual([{ path: 'body.stance', message: 'is required' }]);

    const retracted = await post('/v1/statements/us-kharkiv/retraction', { reason: 'the report was withdrawn', reportedAt: '2024-06-03' });
    expect(retracted.statusCode).toBe(201);
    expect((await get('/v1/statements/us-kharkiv')).json().retraction).toMatchObject({ reason: 'the report was withdrawn' });
    expect((await get('/v1/countries/US/position?at=2024-06-05')).json().status).toBe('prohibited');
    expect((await get('/v1/countries/US/position?at=2024-06-05&knownAt=2024-06-02')).json().status).toBe('restricted');

    const again = await post('/v1/statements/us-kharkiv/retraction', { reason: 'twice', reportedAt: '2024-06-04' });
    expect(again.statusCode).toBe(409);
  });

  it('answers as of a point in the log', async () => {
    const events = (await get('/v1/events?limit=500')).json().items as Array<{ position: number; data: { statementId: string } }>;
    const kharkivAt = events.find((e) => e.data.statementId === 'us-kharkiv')!.position;
    expect((await get(`/v1/countries/US/position?at=2024-06-05&position=${kharkivAt - 1}`)).json().status).toBe('prohibited');
    expect((await get(`/v1/countries/US/position?at=2024-06-05&position=${kharkivAt}`)).json().status).toBe('restricted');
    // With the revision and ETag the country had then: -1 before its first event, 1 after its second.
    const before = await get('/v1/countries/US/position?position=0');
    expect([before.json().revision, before.headers.etag]).toEqual([-1, '"-1"']);
    const then = await get(`/v1/countries/US/position?position=${kharkivAt}`);
    expect([then.json().revision, then.headers.etag]).toEqual([1, '"1"']);
    expect((await get('/v1/countries/US/position')).json().revision).toBeGreaterThan(1);
    expect((await get('/v1/countries/US/position?position=999999')).statusCode).toBe(400);
  });

  it('pages statements, changes and the raw event log', async () => {
    for (const [i, code] of ['FR', 'CA', 'BE'].entries()) {
      await post('/v1/statements', { ...kirby, country: code, statementId: `page-${i}` });
    }
    const first = (await get('/v1/statements?limit=2')).json();
    expect(first.items).toHaveLength(2);
    const second = (await get(`/v1/statements?limit=2&cursor=${first.nextCursor}`)).json();
    expect(second.items[0].position).toBeGreaterThan(first.items[1].position);
    expect((await get('/v1/statements?country=FR')).json().items.map((s: { statementId: string }) => s.statementId)).toEqual(['page-0']);

    const changes = (await get('/v1/changes?limit=3')).json();
    expect(changes.items.length).toBeGreaterThanOrEqual(3);
    expect(new Set(changes.items.map((c: { position: number }) => c.position)).size).toBeLessThanOrEqual(3);
    const last = changes.items[changes.items.length - 1];
    expect(changes.nextAfter).toBe(`${last.position}@${last.recordedAt.slice(0, 10)}`);
    const rest = (await get(`/v1/changes?after=${changes.nextAfter}`)).json();
    expect(rest.items.every((c: { position: number }) => c.position > last.position)).toBe(true);
    expect(rest.items.map((c: { type: string }) => c.type)).toContain('statement.retracted');

    const log = (await get('/v1/events?after=0&limit=2')).json();
    expect(log.items.map((e: { position: number }) => e.position)).toEqual([1, 2]);
    expect(log.items[0]).toMatchObject({ streamId: 'country-US', type: 'StatementRecorded', schemaVersion: 2, streamRevision: 0 });
    expect(log.items[0].metadata).toMatchObject({ apiKey: 'writer' });
  });
});

describe('idempotent writes', () => {
  it('the same Idempotency-Key and body return the first answer and append nothing', async () => {
    const headers = { ...writer, 'idempotency-key': 'retry-1' };
    const body = { ...kirby, country: 'DE' };
    const first = await post('/v1/statements', body, headers);
    const head = (await get('/v1/events?limit=500')).json().items.length;
    const second = await post('/v1/statements', body, headers);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect((await get('/v1/events?limit=500')).json().items).toHaveLength(head);
  });

  it('two tries of one request racing with one Idempotency-Key both get its answer, for a source and a retraction alike', async () => {
    const on = (await post('/v1/statements', { ...kirby, country: 'DK' })).json().statementId as string;
    const source = { source: { publisher: 'Politiken', title: 'Denmark and the F-16s', publishedAt: '2024-05-30', quote: 'no restrictions' } };
    for (const [url, body] of [[`/v1/statements/${on}/sources`, source], [`/v1/statements/${on}/retraction`, { reason: 'misreported', reportedAt: '2024-06-01' }]] as const) {
      const headers = { ...writer, 'idempotency-key': `race-${url}` };
      const before = (await get('/v1/events?limit=500')).json().items.length;
      const [a, b] = await Promise.all([post(url, body, headers), post(url, body, headers)]);
      expect([a.statusCode, b.statusCode], `${url}: ${a.body} ${b.body}`).toEqual([201, 201]);
      expect(a.json()).toEqual(b.json());
      expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].sort()).toEqual(['false', 'true']);
      expect((await get('/v1/events?limit=500')).json().items).toHaveLength(before + 1);
    }
  });

  it('the same Idempotency-Key with another body is refused with 422', async () => {
    const headers = { ...writer, 'idempotency-key': 'retry-2' };
    await post('/v1/statements', { ...kirby, country: 'PL' }, headers);
    const before = (await get('/v1/events?limit=500')).json().items.length;
    const other = await post('/v1/statements', { ...kirby, country: 'SE' }, headers);
    expect(other.statusCode).toBe(422);
    expect(other.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(other.json().errors).toEqual([{ path: 'headers.idempotency-key', message: expect.any(String) }]);
    expect((await get('/v1/events?limit=500')).json().items).toHaveLength(before);
  });

  it("a key is the API key's own: another client sending the same Idempotency-Key gets its own statement recorded", async () => {
    const key = { 'idempotency-key': 'chosen-by-two-clients' };
    const mine = await post('/v1/statements', { ...kirby, country: 'AT' }, { ...writer, ...key });
    const theirs = await post('/v1/statements', { ...kirby, country: 'HU' }, { ...admin, ...key });
    expect([mine.statusCode, theirs.statusCode], theirs.body).toEqual([201, 201]);
    expect(theirs.headers['idempotent-replayed']).toBe('false');
    const hungary = (await get('/v1/statements?country=HU')).json().items as Array<{ statementId: string }>;
    expect(hungary.map((s) => s.statementId)).toEqual([theirs.json().statementId]);
  });

  it('a key is its route\'s own: the same Idempotency-Key on a source and then on a retraction of one statement does both', async () => {
    const on = (await post('/v1/statements', { ...kirby, country: 'SK' })).json().statementId as string;
    const headers = { ...writer, 'idempotency-key': 'one-key-two-routes' };
    const source = { source: { publisher: 'SME', title: 'Slovakia and the weapons it sent', publishedAt: '2024-05-30', quote: 'no change' } };
    const attached = await post(`/v1/statements/${on}/sources`, source, headers);
    const retracted = await post(`/v1/statements/${on}/retraction`, { reason: 'misreported', reportedAt: '2024-06-01' }, headers);
    expect([attached.statusCode, retracted.statusCode], retracted.body).toEqual([201, 201]);
    expect(retracted.headers['idempotent-replayed']).toBe('false');
    const statement = (await get(`/v1/statements/${on}`)).json();
    expect(statement.sources).toHaveLength(2);
    expect(statement.retraction).toMatchObject({ reason: 'misreported', reportedAt: '2024-06-01' });
  });

  it('the same Idempotency-Key and body sent to another statement is another request: 422, and the second statement gets nothing', async () => {
    const first = (await post('/v1/statements', { ...kirby, country: 'SI' })).json().statementId as string;
    const second = (await post('/v1/statements', { ...kirby, country: 'SI' })).json().statementId as string;
    const source = { source: { publisher: 'Delo', title: 'Slovenia and the weapons it sent', publishedAt: '2024-05-30', quote: 'the same words' } };
    const headers = { ...writer, 'idempotency-key': 'same-body-another-statement' };
    expect((await post(`/v1/statements/${first}/sources`, source, headers)).statusCode).toBe(201);
    const other = await post(`/v1/statements/${second}/sources`, source, headers);
    expect(other.statusCode, other.body).toBe(422);
    expect(other.json().errors).toEqual([{ path: 'headers.idempotency-key', message: expect.any(String) }]);
    expect((await get(`/v1/statements/${second}`)).json().sources).toHaveLength(1);
    expect((await get(`/v1/statements/${first}`)).json().sources).toHaveLength(2);
  });
});

describe('statement ids chosen by the client', () => {
  it('requests racing with the same statement id: one is recorded, the others get 409, and the log holds it once', async () => {
    const answers = await Promise.all(
      ['US', 'FR', 'US', 'DE', 'US'].map((country) => post('/v1/statements', { ...kirby, country, statementId: 'raced-id' })),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    const log = (await get('/v1/events?limit=500')).json().items as Array<{ data: { statementId?: string } }>;
    expect(log.filter((e) => e.data.statementId === 'raced-id')).toHaveLength(1);
  });

  it('so do requests racing with the same statement id and each its own Idempotency-Key; a retry of the one recorded gets its answer', async () => {
    const body = { ...kirby, country: 'IE', statementId: 'raced-with-keys' };
    const answers = await Promise.all(['k1', 'k2', 'k3', 'k4'].map((key) => post('/v1/statements', body, { ...writer, 'idempotency-key': key })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409, 409, 409]);
    for (const refused of answers.filter((a) => a.statusCode === 409)) expect(refused.json().detail).toContain('already on record');
    const log = (await get('/v1/events?limit=500')).json().items as Array<{ data: { statementId?: string } }>;
    expect(log.filter((e) => e.data.statementId === 'raced-with-keys')).toHaveLength(1);

    const winner = answers.findIndex((a) => a.statusCode === 201);
    const retried = await post('/v1/statements', body, { ...writer, 'idempotency-key': `k${winner + 1}` });
    expect([retried.statusCode, retried.headers['idempotent-replayed']]).toEqual([201, 'true']);
    expect(retried.json()).toEqual(answers[winner].json());
    // Two tries of one request at once, with its key: both get its answer.
    const twice = { ...kirby, country: 'IE', statementId: 'twice-with-one-key' };
    const both = await Promise.all([1, 2].map(() => post('/v1/statements', twice, { ...writer, 'idempotency-key': 'one-key' })));
    expect(both.map((a) => a.statusCode)).toEqual([201, 201]);
    expect(both[0].json()).toEqual(both[1].json());
  });
});

describe('ids the service makes', () => {
  it('are version-7 uuids that begin with the millisecond they were made, so the indexes on them grow at their end', async () => {
    const before = Date.now();
    const made: string[] = [];
    for (const country of ['SE', 'NO', 'SE', 'DK']) {
      const created = await post('/v1/statements', { ...kirby, country });
      made.push(created.json().statementId);
    }
    const after = Date.now();
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const millisecondOf = (id: string) => parseInt(id.replace('-', '').slice(0, 12), 16);
    const log = (await get('/v1/events?limit=500')).json().items as Array<{ eventId: string; data: { statementId?: string } }>;
    const recorded = made.map((id) => log.find((e) => e.data.statementId === id)!.eventId);
    for (const ids of [made, recorded]) {
      for (const id of ids) expect(id).toMatch(v7);
      const milliseconds = ids.map(millisecondOf);
      expect([...milliseconds].sort((a, b) => a - b)).toEqual(milliseconds);
      expect(milliseconds[0]).toBeGreaterThanOrEqual(before);
      expect(milliseconds[milliseconds.length - 1]).toBeLessThanOrEqual(after);
    }
  });
});

describe('optimistic concurrency on a country', () => {
  it('a write with a stale If-Match revision gets 409; with the current one it commits', async () => {
    await post('/v1/statements', { ...kirby, country: 'NL' });
    const position = await get('/v1/countries/NL/position');
    const revision = position.json().revision;
    expect(position.headers.etag).toBe(`"${revision}"`);
    const ok = await post('/v1/statements', { ...kirby, country: 'NL' }, { ...writer, 'if-match': `"${revision}"` });
    expect(ok.statusCode).toBe(201);
    const stale = await post('/v1/statements', { ...kirby, country: 'NL' }, { ...writer, 'if-match': `"${revision}"` });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ status: 409, title: 'Conflict' });
  });
});

describe('bad input gets a clear 4xx problem naming the field', () => {
  const expectProblem = (response: Awaited<ReturnType<typeof get>>, status: number) => {
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json();
    expect(problem).toMatchObject({ status, title: expect.any(String), detail: expect.any(String), type: expect.any(String) });
    return problem;
  };

  it('an unknown country code is 400 naming params.code', async () => {
    const problem = expectProblem(await get('/v1/countries/XX/position'), 400);
    expect(problem.errors).toEqual([{ path: 'params.code', message: expect.stringContaining('ISO 3166-1') }]);
  });

  it('an impossible date is 400 naming the query field', async () => {
    const problem = expectProblem(await get('/v1/countries/US/position?at=2024-02-30'), 400);
    expect(problem.errors[0].path).toBe('querystring.at');
    // A knowledge time says what it takes: a day, or an instant with its offset.
    for (const knownAt of ['2024-05-30T10:00:00', '2024-05-30T25:00:00Z', '2024-02-30T10:00:00Z']) {
      const refused = expectProblem(await get(`/v1/countries/US/position?knownAt=${knownAt}`), 400);
      expect(refused.errors).toEqual([{ path: 'querystring.knownAt', message: expect.stringMatching(/day that exists .* instant with its offset/) }]);
    }
    // A + offset written as is arrives as a space: the answer says to write %2B, which then works.
    const plus = expectProblem(await get('/v1/countries/US/position?knownAt=2024-05-29T12:00:00+02:00'), 400);
    expect(plus.errors).toEqual([{ path: 'querystring.knownAt', message: expect.stringContaining('write a + offset as %2B') }]);
    expect((await get('/v1/countries/US/position?knownAt=2024-05-29T12:00:00%2B02:00')).statusCode).toBe(200);
    expect(expectProblem(await get('/v1/countries/US/history?knownAt=2024-05-29T12:00:00+0200'), 400).errors[0].message).toContain('%2B');
  });

  it('a time finer than a millisecond is refused naming the field, in a write and in knownAt: the service compares times to the millisecond', async () => {
    const finer = '2024-05-30T12:00:00.0009Z';
    const before = (await get('/v1/events?limit=500')).json().items.length;
    for (const body of [
      { ...kirby, statementId: 'us-finer-report', reportedAt: finer },
      { ...kirby, statementId: 'us-finer-source', sources: [{ ...kirby.sources[0], publishedAt: finer }] },
    ]) {
      const refused = expectProblem(await post('/v1/statements', body), 400);
      expect(refused.errors).toEqual([{ path: expect.stringMatching(/^body\.(reportedAt|sources\.0\.publishedAt)$/), message: expect.stringContaining('finer than a millisecond') }]);
    }
    expect((await get('/v1/events?limit=500')).json().items.length).toBe(before);
    const knownAt = expectProblem(await get(`/v1/countries/US/position?knownAt=${finer}`), 400);
    expect(knownAt.errors).toEqual([{ path: 'querystring.knownAt', message: expect.stringContaining('finer than a millisecond') }]);
    // Digits past the millisecond that are zeros say nothing finer.
    expect((await get('/v1/countries/US/position?knownAt=2024-05-30T12:00:00.123000Z')).statusCode).toBe(200);
  });

  it('malformed JSON is 400', async () => {
    expectProblem(await service.app.inject({ method: 'POST', url: '/v1/statements', headers: { ...writer, 'content-type': 'application/json' }, payload: '{"country":' }), 400);
  });

  it('an invalid statement lists each bad field by path', async () => {
    const problem = expectProblem(await post('/v1/statements', { ...kirby, stance: 'maybe', sources: [{ title: 't', publishedAt: 'yesterday' }] }), 400);
    const paths = problem.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.stance', 'body.sources.0.publishedAt', 'body.sources.0.quote']));
  });

  it('a prohibition that excepts weapons is 422 naming scope.excludedWeapons: those weapons would get no status', async () => {
    const refused = await post('/v1/statements', { ...kirby, country: 'ES', scope: { excludedWeapons: ['Leopard'] } });
    expect(expectProblem(refused, 422).errors).toEqual([{ path: 'body.scope.excludedWeapons', message: expect.stringContaining('permits statement') }]);
    // A prohibition of named weapons is what it says.
    expect((await post('/v1/statements', { ...kirby, country: 'ES', scope: { weapons: ['Leopard'] } })).statusCode).toBe(201);
  });

  it('a statement that both names and excludes a system is 422 naming scope.excludedWeapons, whatever the letter case', async () => {
    const refused = await post('/v1/statements', { ...kharkiv, country: 'LV', scope: { weapons: ['ATACMS', 'HIMARS'], excludedWeapons: ['atacms'] } });
    expect(expectProblem(refused, 422).errors).toEqual([{ path: 'body.scope.excludedWeapons', message: expect.stringContaining('names ATACMS, which scope.weapons names too') }]);
    expect((await get('/v1/countries/LV/position?at=2024-06-05')).json().weapons).toEqual([]);
    // Covering one system and excluding another is what a permission says.
    expect((await post('/v1/statements', { ...kharkiv, country: 'LV', scope: { weapons: ['HIMARS'], excludedWeapons: ['ATACMS'] } })).statusCode).toBe(201);
    const weapons = (await get('/v1/countries/LV/position?at=2024-06-05')).json().weapons;
    expect(weapons.map((w: { system: string; status: string }) => `${w.system} ${w.status}`)).toEqual(['ATACMS prohibited', 'HIMARS unrestricted']);
  });

  it('a statement dated by its month only is 422 unless effectiveAt is the first of the month: answers name the month and count it from the day stored', async () => {
    const monthOnly = { ...kirby, country: 'LT', stance: 'permits', datePrecision: 'month', reportedAt: '2024-05-25' } as const;
    const refused = await post('/v1/statements', { ...monthOnly, effectiveAt: '2024-05-20' });
    expect(expectProblem(refused, 422).errors).toEqual([{ path: 'body.effectiveAt', message: expect.stringContaining('first day of its month (2024-05-01)') }]);
    expect((await post('/v1/statements', { ...monthOnly, effectiveAt: '2024-05-01' })).statusCode).toBe(201);
    // "May 2024" then holds on every day of May, as the explanation says.
    const explained = (await get('/v1/countries/LT/explain?at=2024-05-10')).json();
    expect(explained.status).toBe('unrestricted');
    expect(explained.text).toContain('effective May 2024');
  });

  it('a report dated in the future is 422 naming the field', async () => {
    const problem = expectProblem(await post('/v1/statements', { ...kirby, reportedAt: '2999-01-01' }), 422);
    expect(problem.errors).toEqual([{ path: 'body.reportedAt', message: 'cannot be in the future' }]);
  });

  it('an unknown statement is 404', async () => {
    expectProblem(await get('/v1/statements/no-such-statement'), 404);
    expectProblem(await post('/v1/statements/no-such-statement/retraction', { reason: 'x', reportedAt: '2024-06-01' }), 404);
  });

  it('a body over 1 MB is 413', async () => {
    const huge = { ...kirby, notes: 'x'.repeat(1024 * 1024 + 10) };
    expectProblem(await post('/v1/statements', huge), 413);
  });

  it('a wrong content type is 415', async () => {
    expectProblem(await service.app.inject({ method: 'POST', url: '/v1/statements', headers: { ...writer, 'content-type': 'text/plain' }, payload: 'hello' }), 415);
    expectProblem(await service.app.inject({ method: 'POST', url: '/v1/statements', headers: { ...writer, 'content-type': 'application/xml' }, payload: '<a/>' }), 415);
  });

  it('writes without a key are 401, with an unknown key 401', async () => {
    expectProblem(await post('/v1/statements', kirby, {}), 401);
    expectProblem(await post('/v1/statements', kirby, { authorization: 'Bearer not-a-key' }), 401);
  });

  it('an unknown route is a 404 problem, and a bad cursor a 400', async () => {
    expectProblem(await get('/v1/nothing-here'), 404);
    expectProblem(await get('/v1/statements?cursor=abc'), 400);
    expect(expectProblem(await get('/v1/statements?country=US&country=DE'), 400).errors).toEqual([{ path: 'querystring.country', message: 'is given more than once: give it once' }]);
    expectProblem(await get('/v1/changes?limit=100000'), 400);
    // Past the head of the log: no such event yet, and a poller that followed it would skip up to it.
    const head = (await get('/v1/events?after=0&limit=500')).json().nextAfter as number;
    for (const url of [`/v1/events?after=${head + 1}`, `/v1/changes?after=${head + 1}`, `/v1/changes?after=${head + 1}@2024-06-01`]) {
      expect(expectProblem(await get(url), 400).errors, url).toEqual([{ path: 'querystring.after', message: `must be at most ${head}, the head of the log` }]);
    }
    expect((await get(`/v1/events?after=${head}`)).json()).toEqual({ items: [], nextAfter: head });
    expect(expectProblem(await get(`/v1/statements?cursor=${head + 1}`), 400).errors).toEqual([{ path: 'querystring.cursor', message: `must be at most ${head}, the head of the log` }]);
    expect((await get(`/v1/statements?cursor=${head}`)).json()).toEqual({ items: [], nextCursor: null });
    // A cursor naming a day that has not begun would skip that position's changes of every day until then.
    expect(expectProblem(await get(`/v1/changes?after=${head}@2999-01-01`), 400).errors[0].path).toBe('querystring.after');
  });

  it('a method a path does not answer to is a 405 naming those it does (Allow), not a 404', async () => {
    const deleted = await service.app.inject({ method: 'DELETE', url: '/v1/countries/US/position?at=2024-06-05' });
    expectProblem(deleted, 405);
    expect(deleted.headers.allow).toBe('GET, HEAD');
    expect(deleted.json().detail).toContain('DELETE');
    const put = await service.app.inject({ method: 'PUT', url: '/v1/statements', headers: writer, payload: kirby });
    expectProblem(put, 405);
    expect(put.headers.allow).toBe('GET, HEAD, POST');
    // An endpoint's path answers GET, PATCH and DELETE; its deliveries only GET.
    expect((await service.app.inject({ method: 'PUT', url: '/v1/webhooks/some-id', headers: admin })).headers.allow).toBe('DELETE, GET, HEAD, PATCH');
    expect((await service.app.inject({ method: 'POST', url: '/v1/webhooks/some-id/deliveries', headers: admin })).headers.allow).toBe('GET, HEAD');
    // A plugin's root under a prefix answers with and without the trailing slash.
    for (const url of ['/docs', '/docs/']) expect((await service.app.inject({ method: 'PATCH', url })).headers.allow, url).toBe('GET, HEAD');
    // A path nothing answers stays a 404, whatever the method.
    expectProblem(await service.app.inject({ method: 'DELETE', url: '/v1/nothing-here' }), 404);
  });

  it('none of that changed what was already accepted', async () => {
    const before = (await get('/v1/events?limit=500')).json().items.length;
    await post('/v1/statements', { ...kirby, country: 'XX' });
    await post('/v1/statements', { ...kirby, stance: 'maybe' });
    expect((await get('/v1/events?limit=500')).json().items.length).toBe(before);
  });
});

describe('health and documentation', () => {
  it('is live, and ready once the projections have caught up', async () => {
    expect((await get('/health/live')).statusCode).toBe(200);
    const ready = await get('/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json().position).toBe(ready.json().head);
  });

  it('serves an OpenAPI 3 document generated from the schemas, and the docs page', async () => {
    const doc = (await get('/openapi.json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/countries', '/v1/countries/{code}/position', '/v1/statements', '/v1/changes', '/v1/events']));
    expect(doc.paths['/v1/statements'].post.requestBody.content['application/json'].schema.properties.stance.enum).toEqual(['permits', 'prohibits', 'reviewing', 'endorses']);
    expect((await get('/docs')).statusCode).toBeLessThan(400);
  });

  it('documents the problems each route answers, as application/problem+json, and what it really takes', async () => {
    const doc = (await get('/openapi.json')).json() as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }>; parameters?: Array<{ name: string; schema: { maximum?: number } }> }>> };
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, answer] of Object.entries(operation.responses)) {
          // But for readiness, whose 503 is the readiness document, as the 200 is (what a load balancer reads).
          const notReady = path === '/health/ready' && status === '503';
          if (Number(status) >= 400) expect(Object.keys(answer.content ?? {}), `${method} ${path} ${status}`).toEqual([notReady ? 'application/json' : 'application/problem+json']);
          // Every answer says what it means, not Swagger's "Default Response".
          expect((answer as { description?: string }).description, `${method} ${path} ${status}`).toMatch(/^(?!Default Response)./);
        }
        // Every route of the API validates its input (at least: no unknown query parameter) and is rate limited.
        if (path.startsWith('/v1/')) expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['400', '429']));
      }
    }
    expect(Object.keys(doc.paths['/v1/countries/{code}/explain'].get.responses['200'].content!)).toEqual(['application/json', 'text/markdown', 'text/plain']);
    // A route that takes no fields does not require a body; one that takes fields does.
    const bodies = doc.paths as unknown as Record<string, Record<string, { requestBody?: { required: boolean } }>>;
    expect(bodies['/v1/webhooks/{id}/rotate-secret'].post.requestBody?.required).toBe(false);
    expect(bodies['/v1/statements'].post.requestBody?.required).toBe(true);
    expect(Object.keys(doc.paths['/v1/admin/replay'].post.responses)).toEqual(expect.arrayContaining(['401', '403', '503']));
    // Integer parameters take 15 digits at most, as the validation does.
    const position = doc.paths['/v1/countries/{code}/position'].get.parameters!.find((p) => p.name === 'position')!;
    expect(position.schema.maximum).toBe(999_999_999_999_999);
    expect((await get('/v1/countries/US/position?position=1000000000000000')).statusCode).toBe(400);
  });

  it('an admin key may write too', async () => {
    expect((await post('/v1/statements', { ...kirby, country: 'FI' }, admin)).statusCode).toBe(201);
  });
});
