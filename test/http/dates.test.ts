// Dates and times as an analyst gives and reads them, through the real API: days
// known only by their date beside instants with offsets, near midnight, far in
// the past and ahead. Each test has its own service and DATA_DIR.
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { exportLog, readLogFile } from '../../src/audit/log-file.js';
import { Tokens } from '../../src/composition.js';
import type { EventStore } from '../../src/store/event-store.js';
import { startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

async function start(): Promise<TestService> {
  service = await startTestService();
  return service;
}

const post = (url: string, payload: object) => service!.app.inject({ method: 'POST', url, payload, headers: writer });
const get = (url: string) => service!.app.inject({ method: 'GET', url });

/** A French statement: official, one source published when it was reported. */
function statement(over: Record<string, unknown> = {}) {
  const reportedAt = (over.reportedAt as string | undefined) ?? '2024-05-28';
  return {
    country: 'FR',
    stance: 'permits',
    scope: { targets: ['military sites from which missiles are launched'] },
    speaker: { name: 'Emmanuel Macron', role: 'President', attribution: 'official' },
    sources: [{ publisher: 'Le Monde', title: 'Macron on launch sites', publishedAt: reportedAt, quote: 'neutralise the military sites' }],
    effectiveAt: '2024-05-28',
    reportedAt,
    ...over,
  };
}

describe('a retraction dated by its day alone', () => {
  it('may be the day the statement was reported, whatever hour that was; before that day it is still refused', async () => {
    await start();
    expect((await post('/v1/statements', statement({ statementId: 'fr-1', reportedAt: '2024-05-28T16:00:00Z' }))).statusCode).toBe(201);
    // The day before, or an hour on the day that is before the report, cannot be.
    for (const reportedAt of ['2024-05-27', '2024-05-28T15:59:59Z', '2024-05-28T17:00:00+02:00']) {
      const refused = await post('/v1/statements/fr-1/retraction', { reason: 'misreported', reportedAt });
      expect(refused.statusCode, reportedAt).toBe(422);
      expect(refused.json().errors).toEqual([{ path: 'body.reportedAt', message: 'a retraction cannot be reported before the statement it retracts' }]);
    }
    // The outlet withdrew it the same day; the hour is not known.
    const retracted = await post('/v1/statements/fr-1/retraction', { reason: 'the report was withdrawn the same day', reportedAt: '2024-05-28' });
    expect(retracted.statusCode, retracted.body).toBe(201);

    // As known that morning, before the report, the statement was not public yet: not yet reported, not retracted.
    const morning = (await get('/v1/countries/FR/position?at=2024-06-01&knownAt=2024-05-28T09:00:00Z')).json();
    expect(morning.status).toBe('unknown');
    expect(morning.basis.others).toEqual([expect.objectContaining({ statementId: 'fr-1', reason: 'not-yet-reported' })]);
    expect((await get('/v1/countries/FR/explain?at=2024-06-01&knownAt=2024-05-28T09:00:00Z')).json().text).toContain('it had not been reported yet');
    // Once reported it was retracted at once, and is as known at the end of the day and now.
    for (const knownAt of ['2024-05-28T16:00:00Z', '2024-05-28', '']) {
      const answer = (await get(`/v1/countries/FR/position?at=2024-06-01${knownAt ? `&knownAt=${knownAt}` : ''}`)).json();
      expect(answer.status, knownAt).toBe('unknown');
      expect(answer.basis.others, knownAt).toEqual([expect.objectContaining({ statementId: 'fr-1', reason: 'retracted' })]);
    }

    // An export of this service imports: the import holds a log to the rules the API applies.
    const file = path.join(service!.dataDir, 'export.jsonl');
    const out = createWriteStream(file);
    await exportLog(service!.container.resolve<EventStore>(Tokens.EventStore), 'sqlite', out);
    out.end();
    await finished(out);
    let events = 0;
    for await (const _ of readLogFile(file)) events += 1;
    expect(events).toBe(2);
  });
});
