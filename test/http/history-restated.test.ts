// A history interval lasts as long as the position does, so several statements can decide its days:
// the one that began it, and later ones that said the same again (the US "no change" of 28 May 2024).
// /history names them all, as the rules decide them, so that no reader takes the first for the only one.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service.stop());

const post = async (url: string, payload: object) => {
  const response = await service.app.inject({ method: 'POST', url, payload, headers: writer });
  expect(response.statusCode, response.body).toBe(201);
};
const said = (statementId: string, stance: string, day: string, more: object = {}) => post('/v1/statements', {
  statementId, country: 'AT', stance, speaker: { name: statementId, attribution: 'official' },
  sources: [{ title: statementId, publishedAt: day, quote: `${statementId} said so.` }], effectiveAt: day, reportedAt: day, ...more,
});
const history = async (query = '') => (await service.app.inject(`/v1/countries/AT/history${query}`)).json();

beforeAll(async () => {
  await said('begins', 'prohibits', '2024-06-01');
  // The same day, weaker: it never decides a day.
  await said('weaker-same-day', 'prohibits', '2024-06-01', { speaker: { attribution: 'media-report' } });
  await said('says-it-again', 'prohibits', '2024-06-10');
  await said('retracted', 'prohibits', '2024-06-15');
  await post('/v1/statements/retracted/retraction', { reason: 'misreported', reportedAt: '2024-06-16' });
  await said('misdated', 'prohibits', '2024-06-20');
  await said('correction', 'prohibits', '2024-06-25', { supersedes: 'misdated' });
  await said('lifts', 'permits', '2024-07-01');
});

it('an interval cites the statement that began it, and lists the later ones that said the same again and decide the days from their own', async () => {
  const { intervals } = await history();
  expect(intervals.map((i: object) => ({ ...i, scope: undefined, weapons: undefined }))).toEqual([
    { from: '2024-06-01', to: '2024-07-01', status: 'prohibited', underReview: false, endorsesLifting: false, decidingStatementId: 'begins', restatedBy: ['says-it-again', 'correction'] },
    { from: '2024-07-01', to: null, status: 'unrestricted', underReview: false, endorsesLifting: false, decidingStatementId: 'lifts', restatedBy: [] },
  ]);
  // Each is the statement /position names for a day from its own on.
  for (const [day, id] of [['2024-06-05', 'begins'], ['2024-06-12', 'says-it-again'], ['2024-06-22', 'says-it-again'], ['2024-06-30', 'correction']]) {
    expect((await service.app.inject(`/v1/countries/AT/position?at=${day}`)).json().basis.decidingStatementId, day).toBe(id);
  }
});

it('as known at a time, lists only the statements reported by then', async () => {
  const { intervals } = await history('?knownAt=2024-06-12');
  expect(intervals).toMatchObject([{ from: '2024-06-01', to: null, decidingStatementId: 'begins', restatedBy: ['says-it-again'] }]);
  // Before its retraction was reported, the retracted statement decided its days too.
  expect((await history('?knownAt=2024-06-15')).intervals[0].restatedBy).toEqual(['says-it-again', 'retracted']);
});
