// POST /v1/admin/replay runs one replay at a time: each takes a worker thread
// with up to REPLAY_MEMORY_MB of heap, so requests that arrive while one runs
// share its report rather than starting a worker each (six at once would be
// six workers, up to 12 GB with the default limit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, kirby, startTestService, untilReady, writer, type TestService } from '../helpers/service.js';

describe('the admin replay, asked for several times at once', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
    expect((await service.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: kirby })).statusCode).toBe(201);
    await untilReady(service.app);
  }, 60_000);
  afterAll(async () => service.stop());

  it('runs one replay, and every request in the meantime gets its report', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => service.app.inject({ method: 'POST', url: '/v1/admin/replay', headers: admin })));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200]);
    const reports = answers.map((a) => a.json());
    // `seconds` is measured to the nanosecond: equal only when it is the same run.
    expect(new Set(reports.map((r) => r.seconds)).size).toBe(1);
    expect(reports[0].differences).toEqual([]);

    // Once it has finished, the next request runs a replay of its own.
    const later = await service.app.inject({ method: 'POST', url: '/v1/admin/replay', headers: admin });
    expect(later.statusCode).toBe(200);
    expect(later.json().seconds).not.toBe(reports[0].seconds);
  }, 60_000);
});
