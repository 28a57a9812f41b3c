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

it('with every slot across endpoints taken by slow ones created first, a healthy endpoint still gets its turn', async () => {
  // Two slots in all (WEBHOOK_MAX_IN_FLIGHT), both the slow endpoint's while it has deliveries to try.
  const scarce = await startWebhookService({ settings: { concurrencyPerEndpoint: 2, maxInFlight: 2, timeoutMs: 1_000 } });
  const other = await startReceiver();
  try {
    const api = client(scarce);
    await api.createEndpoint({ url: slow.url });
    await api.createEndpoint({ url: other.url, countries: ['FR'] });
    for (let i = 0; i < 8; i++) await api.record(statement(`scarce-us-${i}`, { country: 'US', stance: i % 2 ? 'permits' : 'prohibits', effectiveAt: `2024-06-0${i + 1}` }));
    for (let i = 0; i < 4; i++) await api.record(statement(`scarce-fr-${i}`, { country: 'FR', stance: i % 2 ? 'permits' : 'prohibits', effectiveAt: `2024-06-0${i + 1}` }));
    const french = (await api.changes()).filter((c) => c.country === 'FR');
    expect(french.length).toBeGreaterThan(8);

    // The slow one has minutes of attempts ahead (each takes the 1 s timeout, eight of them per
    // delivery). The healthy one gets the first slot freed, not only once the slow one has none to
    // try, and keeps it going while it has deliveries: not one per second, as the slow one frees them.
    await expect.poll(() => other.ids().size, { timeout: 5_000 }).toBe(french.length);
  } finally {
    await scarce.stop();
    await other.close();
  }
}, 20_000);
