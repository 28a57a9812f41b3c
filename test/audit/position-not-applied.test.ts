// An answer as of a log position the read model has not applied yet: the position is the
// client's to choose, the catching up is the service's, so it is a 503 to retry, not a 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEvent } from '../../events/registry.js';
import { Tokens } from '../../src/composition.js';
import type { ProjectionRunner } from '../../src/read-model/projection-runner.js';
import type { EventStore } from '../../src/store/event-store.js';
import { kirby, startTestService, type TestService } from '../helpers/service.js';

let service: TestService;
let head: number;
const get = (url: string) => service.app.inject({ method: 'GET', url });

beforeAll(async () => {
  service = await startTestService();
  const runner = service.container.resolve<ProjectionRunner>(Tokens.Runner);
  const store = service.container.resolve<EventStore>(Tokens.EventStore);
  await store.append('country-US', [newEvent('StatementRecorded', { ...kirby, statementId: 'applied-1', scope: {}, datePrecision: 'day' } as never)], 'any');
  await runner.waitFor(1, 10_000);
  // The read model stops at 1; the log goes on to 2.
  await runner.stop();
  head = (await store.append('country-US', [newEvent('StatementRecorded', { ...kirby, statementId: 'applied-2', scope: {}, datePrecision: 'day' } as never)], 'any')).positions[0];
});
afterAll(async () => service.stop());

describe('a log position not applied yet', () => {
  it.each(['/v1/audit/fingerprint', '/v1/countries/US/position'])('%s?position= in the log but not applied is a 503 with Retry-After, past the head a 400', async (path) => {
    expect(head).toBe(2);
    expect((await get(`${path}?position=1`)).statusCode).toBe(200);

    const behind = await get(`${path}?position=${head}`);
    expect(behind.statusCode).toBe(503);
    expect(behind.headers['retry-after']).toBe('1');
    expect(behind.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(behind.json().detail).toBe('the read model has applied the log up to position 1, not yet to 2: ask again in a moment');

    const past = await get(`${path}?position=${head + 1}`);
    expect(past.statusCode).toBe(400);
    expect(past.json().errors).toEqual([{ path: 'querystring.position', message: 'must be at most 2, the head of the log' }]);
  });
});
