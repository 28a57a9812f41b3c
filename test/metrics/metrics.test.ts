// GET /metrics through the real app: what an operator's Prometheus scrapes.
import { afterEach, describe, expect, it } from 'vitest';
import { newEvent } from '../../events/registry.js';
import { Tokens } from '../../src/composition.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import type { ProjectionRunner } from '../../src/read-model/projection-runner.js';
import type { EventStore } from '../../src/store/event-store.js';
import { kharkiv, kirby, startTestService, writer, type TestService } from '../helpers/service.js';
import { parseExposition } from './exposition.js';

let service: TestService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

async function scrape(s: TestService): Promise<string> {
  const response = await s.app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.body;
}

/** The value of one series, e.g. value(text, 'x_total{outcome="ok"}'); undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('after a write, shows the appended events, no projection lag, and a latency sample for the write route', async () => {
    service = await startTestService();
    const before = await scrape(service);
    expect(value(before, 'policy_state_log_head_position')).toBe(0);

    const write = await service.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: kirby });
    expect(write.statusCode).toBe(201);
    await service.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: kharkiv });

    const text = await scrape(service);
    expect(value(text, 'policy_state_log_head_position')).toBe(2);
    expect(value(text, 'policy_state_projection_position')).toBe(2);
    expect(value(text, 'policy_state_projection_lag_events')).toBe(0);
    expect(value(text, 'policy_state_projection_lag_seconds')).toBe(0);
    expect(value(text, 'policy_state_http_request_duration_seconds_count{method="POST",route="/v1/statements",status_code="201"}')).toBe(2);
    expect(text).toContain('# TYPE policy_state_http_request_duration_seconds histogram');
  });

  it('labels latency by route pattern, never by the raw URL, and puts unmatched paths under one label', async () => {
    service = await startTestService();
    for (const code of ['US', 'FR', 'BE']) await service.app.inject({ method: 'GET', url: `/v1/countries/${code}/position?at=2024-06-05` });
    await service.app.inject({ method: 'GET', url: '/no/such/page/123' });

    const text = await scrape(service);
    expect(value(text, 'policy_state_http_request_duration_seconds_count{method="GET",route="/v1/countries/:code/position",status_code="200"}')).toBe(3);
    expect(value(text, 'policy_state_http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}')).toBe(1);
    expect(text).not.toMatch(/route="\/v1\/countries\/US/);
    expect(text).not.toContain('/no/such/page');
  });

  it('reports projection lag in events and in seconds while the projections are behind the log', async () => {
    let skewMs = 0;
    service = await startTestService({ now: () => new Date(Date.now() + skewMs) });
    await service.container.resolve<ProjectionRunner>(Tokens.Runner).stop();
    const store = service.container.resolve<EventStore>(Tokens.EventStore);
    await store.append('country-US', [newEvent('StatementRecorded', { ...kirby, statementId: 'us-lag-1', scope: {}, datePrecision: 'day' } as never)], 'any');
    await store.append('country-US', [newEvent('StatementRecorded', { ...kharkiv, statementId: 'us-lag-2', datePrecision: 'day' } as never)], 'any');
    skewMs = 42_000;

    const text = await scrape(service);
    expect(value(text, 'policy_state_log_head_position')).toBe(2);
    expect(value(text, 'policy_state_projection_position')).toBe(0);
    expect(value(text, 'policy_state_projection_lag_events')).toBe(2);
    expect(value(text, 'policy_state_projection_lag_seconds')).toBeGreaterThanOrEqual(42);
    expect(value(text, 'policy_state_projection_lag_seconds')).toBeLessThan(60);
  });

  it('reports webhook deliveries by outcome and pending deliveries through the hooks the dispatcher calls', async () => {
    service = await startTestService();
    const zero = await scrape(service);
    expect(value(zero, 'policy_state_webhook_deliveries_total{outcome="succeeded"}')).toBe(0);
    expect(value(zero, 'policy_state_webhook_pending_deliveries')).toBe(0);

    const metrics = service.container.resolve<Metrics>(Tokens.Metrics);
    metrics.deliveryAttempted('succeeded');
    metrics.deliveryAttempted('succeeded');
    metrics.deliveryAttempted('timed-out');
    let pending = 7;
    metrics.countPendingDeliveriesWith(async () => pending);

    const text = await scrape(service);
    expect(value(text, 'policy_state_webhook_deliveries_total{outcome="succeeded"}')).toBe(2);
    expect(value(text, 'policy_state_webhook_deliveries_total{outcome="timed-out"}')).toBe(1);
    expect(value(text, 'policy_state_webhook_deliveries_total{outcome="failed"}')).toBe(0);
    expect(value(text, 'policy_state_webhook_pending_deliveries')).toBe(7);
    pending = 0;
    expect(value(await scrape(service), 'policy_state_webhook_pending_deliveries')).toBe(0);
  });

  it('is valid exposition text, and no stream of odd requests grows its set of series', async () => {
    service = await startTestService();
    const seriesOf = (text: string) => [...parseExposition(text).values()].flatMap((f) => [...f.samples.keys()]).filter((k) => k.startsWith('policy_state_'));
    const requests = (n: number) =>
      Array.from({ length: n }, (_, i) => [
        { method: 'GET', url: `/v1/countries/US/position?at=2024-06-0${1 + (i % 9)}&x${i}=${i}` },
        { method: 'GET', url: `/v1/statements/no-such-${i}` },
        { method: 'GET', url: `/random/${i}/path?q=${i}` },
        { method: 'DELETE', url: `/v1/countries/${i}` },
        { method: 'POST', url: `/v1/webhooks/ep_${i}/test` },
      ]).flat();
    for (const request of requests(5)) await service.app.inject(request as never);
    const families = parseExposition(await scrape(service));
    const before = seriesOf(await scrape(service));

    for (const request of requests(200)) await service.app.inject(request as never);
    expect(seriesOf(await scrape(service))).toEqual(before);

    expect(value(await scrape(service), 'policy_state_event_store_up')).toBe(1);
    for (const family of families.values()) {
      expect(family.help, family.name).not.toBe('');
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
    }
  });
});
