// A slow endpoint and a dead one, at the same time, never hold up a healthy one.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { client, closedPort, startReceiver, startWebhookService, statement, verify, type Receiver, type TestService } from './helpers.js';

const PER_ENDPOINT = 4;

let service: TestService;
let healthy: Receiver;
let slow: Receiver;
beforeAll(async () => {
  // The real 15 s timeout: the slow endpoint's attempts are still running when the test ends.
  service = await startWebhookService({ settings: { concurrencyPerEndpoint: PER_ENDPOINT, timeoutMs: 15_000 } });
  healthy = await startReceiver();
  slow = await startReceiver(() => ({ status: 200, delayMs: 20_000 }));
});
afterAll(async () => {
  await service.stop();
  await healthy.close();
  await slow.close();
});

it('an endpoint that answers after 20 s and one that refuses connections do not delay deliveries to a healthy one', async () => {
  const api = client(service);
  const refusing = await api.createEndpoint({ url: `http://127.0.0.1:${await closedPort()}/hooks` });
  const slowEndpoint = await api.createEndpoint({ url: slow.url });
  const healthyEndpoint = await api.createEndpoint({ url: healthy.url });
  const countries = ['US', 'FR', 'DE', 'GB', 'CA', 'BE', 'NL', 'PL'];
  for (const [i, country] of countries.entries()) {
    await api.record(statement(`isolation-${i}`, { country, stance: i % 2 ? 'permits' : 'prohibits' }));
  }
  const changes = await api.changes();
  expect(changes.length).toBeGreaterThan(PER_ENDPOINT * 2);

  // Every change reaches the healthy endpoint, well before the slow one could answer even once.
  await expect.poll(() => healthy.ids().size, { timeout: 10_000 }).toBe(changes.length);
  expect(healthy.ids()).toEqual(new Set(changes.map((c) => c.id)));
  for (const received of healthy.received) verify(healthyEndpoint.secret, received);

  // Meanwhile the slow endpoint holds its own slots and no more, with nothing answered yet...
  expect(slow.received.length).toBe(PER_ENDPOINT);
  const slowLog = (await api.get(`/v1/webhooks/${slowEndpoint.id}/deliveries?limit=500`)).json().items as Array<{ attempts: unknown[] }>;
  expect(slowLog.every((d) => d.attempts.length === 0)).toBe(true);
  expect((await api.get(`/v1/webhooks/${slowEndpoint.id}`)).json().deliveries.pending).toBe(changes.length);

  // ...and the refusing one has been tried, and will be again.
  const refusedLog = (await api.get(`/v1/webhooks/${refusing.id}/deliveries?limit=500`)).json().items as Array<{ status: string; attempts: Array<{ error: string | null; statusCode: number | null }> }>;
  const attempts = refusedLog.flatMap((d) => d.attempts);
  expect(attempts.length).toBeGreaterThanOrEqual(changes.length);
  expect(attempts.every((a) => a.statusCode === null && /ECONNREFUSED/.test(a.error ?? ''))).toBe(true);
  expect(refusedLog.some((d) => d.status === 'pending')).toBe(true);
});
