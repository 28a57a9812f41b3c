// Edges of "Deriving a position" (DOMAIN.md) that an analyst meets through the
// API: the exact instant a report or a retraction became known, a weapon system
// written in another letter case, and a change in one weapon's status alone.
// The real service: SQLite files in a temp dir, the fastify app via inject().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service.stop());

const get = async (url: string) => {
  const response = await service.app.inject({ method: 'GET', url });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
};
const post = async (url: string, payload: object) => {
  const response = await service.app.inject({ method: 'POST', url, payload, headers: writer });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { statementId: string; position: number };
};

/** An official statement of `country`, reported (and published) when it took effect unless told. */
function statement(country: string, statementId: string, over: Record<string, unknown> = {}) {
  const effectiveAt = (over.effectiveAt as string | undefined) ?? '2024-05-30';
  const reportedAt = (over.reportedAt as string | undefined) ?? effectiveAt;
  return {
    statementId,
    country,
    stance: 'permits',
    scope: {},
    speaker: { name: 'A Minister', attribution: 'official' },
    sources: [{ publisher: 'Wire', title: `Report on ${statementId}`, publishedAt: reportedAt, quote: 'what was said' }],
    effectiveAt,
    reportedAt,
    ...over,
  };
}

type Basis = { others: Array<{ statementId: string; reason: string }> };
const reasonOf = (answer: { basis: Basis }, statementId: string) => answer.basis.others.find((o) => o.statementId === statementId)?.reason;

describe('knowledge time is inclusive: what was public at knownAt counts, to the millisecond', () => {
  it('a statement counts from the instant it was reported, and its retraction from the instant that was', async () => {
    const reported = '2024-05-30T10:00:00.000Z';
    const retracted = '2024-06-02T08:30:00.000Z';
    await post('/v1/statements', statement('NO', 'no-leak', { reportedAt: reported }));
    await post('/v1/statements/no-leak/retraction', { reason: 'the outlet withdrew its report', reportedAt: retracted });
    const asKnownAt = (knownAt: string) => get(`/v1/countries/NO/position?at=2024-06-05&knownAt=${encodeURIComponent(knownAt)}`);
    const millisecondBefore = (instant: string) => new Date(Date.parse(instant) - 1).toISOString();

    const beforeReport = await asKnownAt(millisecondBefore(reported));
    expect(beforeReport.status).toBe('unknown');
    expect(reasonOf(beforeReport, 'no-leak')).toBe('not-yet-reported');

    // Reported at that very instant: public then. A permission with no condition.
    for (const knownAt of [reported, millisecondBefore(retracted)]) {
      const counted = await asKnownAt(knownAt);
      expect(counted.status, knownAt).toBe('unrestricted');
      expect(counted.basis.decidingStatementId, knownAt).toBe('no-leak');
    }

    // A day as knownAt means the end of that day: the history as known on the day of the report lists it, not yet retracted.
    const onTheDay = await get('/v1/countries/NO/history?knownAt=2024-05-30');
    expect(onTheDay.statements.map((s: { statementId: string }) => s.statementId)).toEqual(['no-leak']);
    expect(onTheDay.statements[0].retraction).toBeNull();
    expect(onTheDay.intervals.map((i: { from: string; status: string }) => [i.from, i.status])).toEqual([['2024-05-30', 'unrestricted']]);

    // Retracted at that very instant, written in any offset: as known then, the record was wrong.
    for (const knownAt of [retracted, '2024-06-02T10:30:00+02:00']) {
      const withdrawn = await asKnownAt(knownAt);
      expect(withdrawn.status, knownAt).toBe('unknown');
      expect(reasonOf(withdrawn, 'no-leak'), knownAt).toBe('retracted');
    }
  });

  it('a statement first heard before any written source counts from its reportedAt, to the millisecond', async () => {
    // Said on the radio at 07:15; the first article citing it came out at noon.
    const heard = '2024-05-31T07:15:00.000Z';
    await post('/v1/statements', statement('IS', 'is-radio', { reportedAt: heard, sources: [{ publisher: 'Paper', title: 'Iceland speaks', publishedAt: '2024-05-31T12:00:00Z', quote: 'we allow it' }] }));
    const atTheInstant = await get(`/v1/countries/IS/position?at=2024-06-05&knownAt=${heard}`);
    expect(atTheInstant.basis.decidingStatementId).toBe('is-radio');
    const justBefore = await get(`/v1/countries/IS/position?at=2024-06-05&knownAt=2024-05-31T07:14:59.999Z`);
    expect(justBefore.status).toBe('unknown');
    expect(reasonOf(justBefore, 'is-radio')).toBe('not-yet-reported');
  });
});

describe('a weapon system is one system whatever its letter case', () => {
  it('the latest statement naming it decides it, though it writes the name otherwise', async () => {
    await post('/v1/statements', statement('PL', 'pl-atacms-banned', { stance: 'prohibits', effectiveAt: '2024-04-15', scope: { weapons: ['ATACMS'] } }));
    await post('/v1/statements', statement('PL', 'pl-atacms-allowed', { effectiveAt: '2024-06-01', scope: { weapons: ['atacms'] } }));

    const before = await get('/v1/countries/PL/position?at=2024-05-01');
    expect(before.weapons).toEqual([{ system: 'ATACMS', status: 'prohibited', statementId: 'pl-atacms-banned' }]);

    // One system, decided by the later statement: a permission naming only that system, with no other limit.
    const after = await get('/v1/countries/PL/position?at=2024-06-05');
    expect(after.weapons).toHaveLength(1);
    expect(after.weapons[0]).toMatchObject({ status: 'unrestricted', statementId: 'pl-atacms-allowed' });
    expect(after.weapons[0].system.toUpperCase()).toBe('ATACMS');
  });
});

describe("a change in one weapon's status alone changes the position", () => {
  it('starts a new history interval, and today\'s change is in the feed with the weapon as it was and as it is', async () => {
    await post('/v1/statements', statement('CZ', 'cz-border', { effectiveAt: '2024-05-01', scope: { regions: ['near the border'] } }));
    await post('/v1/statements', statement('CZ', 'cz-himars-banned', { stance: 'prohibits', effectiveAt: '2024-05-10', scope: { weapons: ['HIMARS'] } }));
    const allowed = await post('/v1/statements', statement('CZ', 'cz-himars-allowed', { effectiveAt: '2024-05-20', scope: { weapons: ['HIMARS'] } }));

    // The headline stays restricted throughout (the border permission decides it); HIMARS is banned, then allowed.
    const history = await get('/v1/countries/CZ/history');
    expect(history.intervals.map((i: { from: string; to: string | null; status: string; weapons: unknown[] }) => [i.from, i.to, i.status, i.weapons])).toEqual([
      ['2024-05-01', '2024-05-10', 'restricted', []],
      ['2024-05-10', '2024-05-20', 'restricted', [{ system: 'HIMARS', status: 'prohibited', statementId: 'cz-himars-banned' }]],
      ['2024-05-20', null, 'restricted', [{ system: 'HIMARS', status: 'unrestricted', statementId: 'cz-himars-allowed' }]],
    ]);

    const changes = (await get(`/v1/changes?after=${allowed.position - 1}`)).items as Array<{ type: string; position: number; data: Record<string, any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- nested fields of the change
    const changed = changes.find((c) => c.type === 'position.changed' && c.position === allowed.position);
    expect(changed, JSON.stringify(changes.map((c) => c.type))).toBeDefined();
    expect(changed!.data).toMatchObject({
      country: 'CZ',
      statementId: 'cz-himars-allowed',
      previous: { status: 'restricted', weapons: [{ system: 'HIMARS', status: 'prohibited' }] },
      current: { status: 'restricted', weapons: [{ system: 'HIMARS', status: 'unrestricted' }] },
    });
  });
});
