// A report published "tomorrow" by a client's clock a few minutes ahead is recorded as of the
// server's now, which is the day before: the same report attached again once that day has begun
// must still be found to be the same report (a source counts once).
import { afterAll, expect, it } from 'vitest';
import { admin, kirby, startTestService, type TestService } from '../helpers/service.js';

const services: TestService[] = [];
afterAll(async () => {
  for (const service of services) await service.stop();
});

it('the same report, dated a day a few minutes ahead of the clock, counts once when attached again after midnight', async () => {
  let clock = Date.parse('2025-06-01T23:57:00Z');
  const service = await startTestService({ now: () => new Date(clock) });
  services.push(service);
  const report = { publisher: 'Reuters', title: 'Allies weigh long-range strikes', publishedAt: '2025-06-02', quote: 'no decision yet' };
  const recorded = await service.app.inject({
    method: 'POST',
    url: '/v1/statements',
    headers: admin,
    payload: { ...kirby, country: 'DE', effectiveAt: '2025-06-01', reportedAt: '2025-06-01', sources: [report] },
  });
  expect(recorded.statusCode).toBe(201);
  const { statementId } = recorded.json();

  clock = Date.parse('2025-06-02T08:00:00Z');
  const again = await service.app.inject({ method: 'POST', url: `/v1/statements/${statementId}/sources`, headers: admin, payload: { source: report } });
  expect(again.statusCode).toBe(409);
  expect((await service.app.inject('/v1/countries/DE/position')).json().confidence.sources).toBe(1);
});
