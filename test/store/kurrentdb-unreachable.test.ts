// The real service, configured for KurrentDB at an address where nothing
// listens, with the real client: it starts, says it is not ready and why, and
// answers writes with 503 and Retry-After instead of failing.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { tempDir } from '../helpers/temp-dir.js';
import { parseExposition } from '../metrics/exposition.js';
import { WRITER_KEY, statement } from './kurrentdb-fixtures.js';
import { closedPort } from './kurrentdb-stand-in.js';

const WRITER = WRITER_KEY;

describe('the service on KurrentDB when the server cannot be reached', () => {
  let service: Service;
  let port: number;
  const temp = tempDir();
  const logLines: Array<{ level: number; msg: string }> = [];

  beforeAll(async () => {
    port = await closedPort();
    const config = loadConfig({
      DATA_DIR: temp.dir,
      EVENT_STORE: 'kurrentdb',
      KURRENTDB_URL: `kurrentdb://admin:changeit@127.0.0.1:${port}?tls=false`,
      API_KEYS: `writer:${WRITER}:writer`,
      // The default: seeding needs the store, and must not stop the start.
      SEED_ON_START: 'true',
    });
    service = await startService(config, pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) }));
    await service.app.ready();
  });

  afterAll(async () => {
    await service?.close();
    temp.cleanup();
  });

  it('is live, but not ready, and says the store cannot be reached, naming where (without the password)', async () => {
    expect((await service.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    const ready = await service.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    const body = ready.json();
    expect(body.ready).toBe(false);
    expect(body.reason).toMatch(new RegExp(`^KurrentDB at 127\\.0\\.0\\.1:${port} cannot be reached`));
    expect(body.reason).not.toContain('changeit');
  });

  it('answers a write with 503 and Retry-After, as a problem document that shows no internals', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/v1/statements',
      headers: { authorization: `Bearer ${WRITER}` },
      payload: statement,
    });
    expect(response.statusCode).toBe(503);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const problem = response.json();
    expect(problem).toMatchObject({ status: 503, title: 'Service Unavailable' });
    expect(problem.detail).toContain(`127.0.0.1:${port}`);
    expect(JSON.stringify(problem)).not.toMatch(/at .*\.js:\d+|changeit/);
  });

  it('answers a read of the raw log with 503 too, and reads of the local read model still work', async () => {
    const events = await service.app.inject({ method: 'GET', url: '/v1/events?after=0&limit=10' });
    expect(events.statusCode).toBe(503);
    expect(events.headers['retry-after']).toBeDefined();
    const countries = await service.app.inject({ method: 'GET', url: '/v1/countries' });
    expect(countries.statusCode).toBe(200);
  });

  it('still answers /metrics: the store is reported down, what only it knows is left out, the rest is served', async () => {
    // The scrape an operator needs most is the one while the store is down: a 503 would lose every metric with it.
    const response = await service.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    const families = parseExposition(response.body);
    const value = (series: string) => [...families.values()].find((f) => f.samples.has(series))?.samples.get(series);
    expect(value('policy_state_event_store_up{}')).toBe(0);
    expect(value('policy_state_projection_position{}')).toBe(0);
    // Unknown, so no sample (a 0 would say "caught up"), though still declared.
    for (const name of ['policy_state_log_head_position', 'policy_state_projection_lag_events', 'policy_state_projection_lag_seconds']) {
      expect(families.get(name)?.samples.size, name).toBe(0);
    }
    expect(value('policy_state_webhook_pending_deliveries{}')).toBeGreaterThanOrEqual(0);
    expect(families.get('process_cpu_seconds_total')?.samples.size).toBeGreaterThan(0);
    expect(response.body).not.toContain('changeit');
  });

  it('logs the outage as warnings, not as an error with a stack again and again: the service is waiting, not failing', async () => {
    // Long enough for the day roll, the subscription and the seeding to have tried and failed.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(logLines.filter((l) => l.level >= 40).length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
  });
});
