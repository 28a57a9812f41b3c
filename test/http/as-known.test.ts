// An answer as known at a time, or at a point in the log, shows the evidence as
// it stood then: no source published later, no retraction reported later, no
// statement reported later, and no event appended after that log position.
// Through the real service (SQLite files, the fastify app via inject()).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService;
const positions: Record<string, number> = {};

const get = async (url: string) => {
  const response = await service.app.inject(url);
  expect(response.statusCode, response.body).toBe(200);
  return response;
};
const position = async (query: string) => (await get(`/v1/countries/NZ/position?${query}`)).json();
const post = async (url: string, payload: object) => {
  const response = await service.app.inject({ method: 'POST', url, payload, headers: writer });
  expect(response.statusCode, response.body).toBe(201);
  return (response.json() as { position: number }).position;
};

beforeAll(async () => {
  service = await startTestService();
  positions.recorded = await post('/v1/statements', {
    statementId: 'nz-permits',
    country: 'NZ',
    stance: 'permits',
    speaker: { name: 'A Minister', attribution: 'official' },
    sources: [{ publisher: 'First Wire', title: 'First report', publishedAt: '2024-03-01', quote: 'we permit it' }],
    effectiveAt: '2024-03-01',
    reportedAt: '2024-03-01',
  });
  positions.corroborated = await post('/v1/statements/nz-permits/sources', {
    source: { publisher: 'Later Paper', title: 'Corroboration', publishedAt: '2024-03-06', quote: 'confirmed: they permit it' },
  });
  positions.later = await post('/v1/statements', {
    statementId: 'nz-later',
    country: 'NZ',
    stance: 'reviewing',
    speaker: { name: 'A Minister', attribution: 'official' },
    sources: [{ title: 'Review', publishedAt: '2024-05-01', quote: 'we are reviewing it' }],
    effectiveAt: '2024-03-02',
    reportedAt: '2024-05-01',
  });
  positions.retracted = await post('/v1/statements/nz-permits/retraction', { reason: 'misreported', reportedAt: '2024-06-01' });
});
afterAll(async () => service.stop());

describe('GET position as known at a time', () => {
  it('lists only the sources published by then, as many as the confidence counts, and no retraction reported later', async () => {
    const early = await position('at=2024-04-15&knownAt=2024-03-05');
    expect(early.deciding.statementId).toBe('nz-permits');
    expect(early.deciding.sources.map((s: { title: string }) => s.title)).toEqual(['First report']);
    expect(early.confidence).toEqual({ attribution: 'official', sources: 1 });
    expect(early.deciding.retraction).toBeNull();

    const later = await position('at=2024-04-15&knownAt=2024-03-07');
    expect(later.deciding.sources.map((s: { title: string }) => s.title)).toEqual(['First report', 'Corroboration']);
    expect(later.confidence.sources).toBe(2);
    expect(later.deciding.retraction).toBeNull();

    // Once the retraction is known the statement no longer counts; as known now it does not either.
    expect((await position('at=2024-04-15&knownAt=2024-06-02')).status).toBe('unknown');
  });

  it('at a point in the log, shows nothing appended after it', async () => {
    const beforeSource = await position(`at=2024-04-15&knownAt=2024-05-15&position=${positions.corroborated - 1}`);
    expect(beforeSource.deciding.sources).toHaveLength(1);
    expect(beforeSource.confidence.sources).toBe(1);
    const beforeRetraction = await position(`at=2024-04-15&position=${positions.retracted - 1}`);
    expect(beforeRetraction.deciding.statementId).toBe('nz-permits');
    expect(beforeRetraction.deciding.sources).toHaveLength(2);
    expect(beforeRetraction.deciding.retraction).toBeNull();
    expect(beforeRetraction.underReview).toBe(true);
  });
});

describe('history and explain as known at a time', () => {
  it('history lists only the statements reported by then, each without what came to light later', async () => {
    const early = (await get('/v1/countries/NZ/history?knownAt=2024-03-05')).json();
    expect(early.statements.map((s: { statementId: string }) => s.statementId)).toEqual(['nz-permits']);
    expect(early.statements[0].sources).toHaveLength(1);
    expect(early.statements[0].retraction).toBeNull();

    const now = (await get('/v1/countries/NZ/history')).json();
    expect(now.statements.map((s: { statementId: string }) => s.statementId)).toEqual(['nz-permits', 'nz-later']);
    expect(now.statements[0].sources).toHaveLength(2);
    expect(now.statements[0].retraction).toMatchObject({ reason: 'misreported', reportedAt: '2024-06-01' });
  });

  it('explain quotes only the sources published by then, and names the day of knownAt in UTC', async () => {
    const early = (await get('/v1/countries/NZ/explain?at=2024-04-15&knownAt=2024-03-05')).json();
    expect(early.text).toContain('First report');
    expect(early.text).not.toContain('Corroboration');
    expect(early.text).toContain('as known on 5 March 2024');
    const later = (await get('/v1/countries/NZ/explain?at=2024-04-15&knownAt=2024-03-07')).json();
    expect(later.text).toContain('Corroboration');
    // 23:30 at UTC-5 is 04:30 UTC the next day.
    const offset = (await get(`/v1/countries/NZ/explain?at=2024-04-15&knownAt=${encodeURIComponent('2024-03-06T23:30:00-05:00')}`)).json();
    expect(offset.text).toContain('as known at 04:30 UTC on 7 March 2024');
    expect(offset.text).toContain('Corroboration');
  });
});

describe('when a statement became public', () => {
  it('a retraction may be dated from its earliest source, not before it', async () => {
    await post('/v1/statements', {
      statementId: 'nz-early-source',
      country: 'NZ',
      stance: 'prohibits',
      speaker: { attribution: 'official' },
      sources: [{ title: 'Late write-up', publishedAt: '2024-07-10', quote: 'no' }],
      effectiveAt: '2024-07-01',
      reportedAt: '2024-07-10',
    });
    await post('/v1/statements/nz-early-source/sources', { source: { title: 'First word', publishedAt: '2024-07-02', quote: 'no, they said' } });
    const tooEarly = await service.app.inject({ method: 'POST', url: '/v1/statements/nz-early-source/retraction', headers: writer, payload: { reason: 'misreported', reportedAt: '2024-07-01' } });
    expect(tooEarly.statusCode, tooEarly.body).toBe(422);
    expect(tooEarly.json().errors).toEqual([expect.objectContaining({ path: expect.stringContaining('reportedAt') })]);
    // Public since 2 July by its first source: a retraction of 5 July is not before it.
    await post('/v1/statements/nz-early-source/retraction', { reason: 'misreported', reportedAt: '2024-07-05' });
  });
});
