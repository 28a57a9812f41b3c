// Deliveries as a subscriber sees them: real receivers on 127.0.0.1, the real
// service, signatures checked with the standardwebhooks package.
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookSettings } from '../../src/webhooks/settings.js';
import { tempDir } from '../helpers/temp-dir.js';
import { client, movableClock, startReceiver, startWebhookService, statement, verify, type Receiver } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setUp(settings: Partial<WebhookSettings> = {}, now?: () => Date) {
  const service = await startWebhookService({ settings, now });
  cleanup.push(() => service.stop());
  return { service, api: client(service) };
}

async function receiver(answer?: Receiver['answer']) {
  const r = await startReceiver(answer);
  cleanup.push(() => r.close());
  return r;
}

const deliveriesOf = async (api: ReturnType<typeof client>, endpointId: string) =>
  (await api.get(`/v1/webhooks/${endpointId}/deliveries`)).json().items as Array<{
    id: string;
    status: string;
    webhookId: string;
    attempts: Array<{ statusCode: number | null; durationMs: number; responseStart: string | null; error: string | null; at: string }>;
  }>;

const endpointOf = async (api: ReturnType<typeof client>, endpointId: string) => (await api.get(`/v1/webhooks/${endpointId}`)).json();

describe('a subscriber receives every change, signed as Standard Webhooks says', () => {
  it('with the change id as webhook-id, the log position, and a sequence number without gaps', async () => {
    const { api } = await setUp();
    const r = await receiver();
    const endpoint = await api.createEndpoint({ url: r.url, description: 'newsroom' });
    await api.record(statement('us-ban', { country: 'US', stance: 'prohibits', effectiveAt: '2024-05-01' }));
    await api.record(statement('fr-sites', { country: 'FR', stance: 'permits', effectiveAt: '2024-05-28', scope: { targets: ['launch sites'] } }));
    await api.record(statement('us-kharkiv', { country: 'US', stance: 'permits', effectiveAt: '2024-05-30', scope: { purposes: ['counter-fire'] } }));
    const changes = await api.changes();
    expect(changes.length).toBeGreaterThanOrEqual(6);

    await expect.poll(() => r.ids().size, { timeout: 10_000 }).toBe(changes.length);
    expect(r.ids()).toEqual(new Set(changes.map((c) => c.id)));
    for (const received of r.received) {
      const payload = verify(endpoint.secret, received) as { type: string; timestamp: string; data: { changeId: string; position: number; sequence: number } };
      const change = changes.find((c) => c.id === received.headers['webhook-id'])!;
      expect(payload).toMatchObject({ type: change.type, data: { ...change.data, changeId: change.id, position: change.position } });
      expect(received.headers['content-type']).toBe('application/json');
    }
    const sequences = r.received.map((x) => x.json.data.sequence as number).sort((a, b) => a - b);
    expect(sequences).toEqual(changes.map((_, i) => i + 1));
    // Sequence follows the feed: ordering by it gives the log's order.
    const bySequence = [...r.received].sort((a, b) => (a.json.data.sequence as number) - (b.json.data.sequence as number));
    expect(bySequence.map((x) => x.headers['webhook-id'])).toEqual(changes.map((c) => c.id));
  });

  it('only the change types and countries an endpoint filters on', async () => {
    const { api } = await setUp();
    const everything = await receiver();
    const filtered = await receiver();
    await api.createEndpoint({ url: everything.url });
    await api.createEndpoint({ url: filtered.url, types: ['position.changed'], countries: ['FR'] });
    await api.record(statement('us-ban', { country: 'US' }));
    await api.record(statement('fr-sites', { country: 'FR', stance: 'permits', scope: { targets: ['launch sites'] } }));
    const changes = await api.changes();
    const wanted = changes.filter((c) => c.type === 'position.changed' && c.country === 'FR');
    expect(wanted).toHaveLength(1);

    await expect.poll(() => everything.ids().size, { timeout: 10_000 }).toBe(changes.length);
    await expect.poll(() => filtered.ids(), { timeout: 10_000 }).toEqual(new Set(wanted.map((c) => c.id)));
    expect(filtered.received).toHaveLength(1);
  });
});

describe('retries', () => {
  it('a failed delivery is sent again with the same webhook-id and body, and the log shows each attempt', async () => {
    const { api } = await setUp();
    const r = await receiver((_request, index) => (index < 2 ? { status: 500, body: 'boom: the database is down' } : { status: 204, body: '' }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));

    await expect.poll(() => r.ids().size, { timeout: 10_000 }).toBe(1);
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((x) => x.headers['webhook-id'])).size).toBe(1);
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
    for (const received of r.received) verify(endpoint.secret, received);

    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.status, { timeout: 5_000 }).toBe('succeeded');
    const [delivery] = await deliveriesOf(api, endpoint.id);
    expect(delivery.attempts.map((a) => a.statusCode)).toEqual([500, 500, 204]);
    expect(delivery.attempts[0]).toMatchObject({ responseStart: 'boom: the database is down', error: null });
    for (const attempt of delivery.attempts) {
      expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(attempt.at)).not.toBeNaN();
    }
  });

  it('counts attempts by outcome and the pending deliveries in /metrics', async () => {
    const { api } = await setUp({ retryScheduleMs: [0, 50, 60_000] });
    const r = await receiver((_request, index) => (index === 0 ? { status: 500 } : { status: 200 }));
    const down = await receiver(() => ({ status: 500 }));
    await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.createEndpoint({ url: down.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));
    await expect.poll(() => r.ids().size, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => down.received.length, { timeout: 10_000 }).toBe(2);
    const metric = async (line: RegExp) => Number(line.exec((await api.get('/metrics', {})).body)?.[1]);
    await expect.poll(() => metric(/^policy_state_webhook_deliveries_total\{outcome="succeeded"\} (\d+)/m), { timeout: 5_000 }).toBe(1);
    await expect.poll(() => metric(/^policy_state_webhook_deliveries_total\{outcome="failed"\} (\d+)/m), { timeout: 5_000 }).toBe(3);
    expect(await metric(/^policy_state_webhook_pending_deliveries (\d+)/m)).toBe(1);
  });

  it.each([429, 503])('a %i with Retry-After is not retried before the receiver asked', async (status) => {
    // Without Retry-After the second attempt would come after about 100 ms.
    const { api } = await setUp({ retryScheduleMs: [0, 100] });
    const r = await receiver((_request, index) => (index === 0 ? { status, headers: { 'retry-after': '1' } } : { status: 200 }));
    await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));

    await expect.poll(() => r.ids().size, { timeout: 10_000 }).toBe(1);
    expect(r.received).toHaveLength(2);
    expect(r.received[1].at - r.received[0].at).toBeGreaterThanOrEqual(950);
  });

  it.each([429, 503])('after a %i with Retry-After the whole endpoint waits: other changes are not sent meanwhile, and spend no retry (a test ping still goes)', async (status) => {
    // One at a time, and the first answer slow: the others wait in the queue for its slot.
    const { api } = await setUp({ retryScheduleMs: [0, 100, 100], concurrencyPerEndpoint: 1 });
    const r = await receiver((_request, index) => (index === 0 ? { status, headers: { 'retry-after': '2' }, delayMs: 300 } : { status: 200 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));
    await api.record(statement('fr-sites', { country: 'FR' }));
    await api.record(statement('de-kharkiv', { country: 'DE' }));
    // The slot the 429 frees is not given to the next in the queue.
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id)).find((d) => d.attempts.length > 0)?.attempts[0].statusCode, { timeout: 10_000 }).toBe(status);
    expect(r.received).toHaveLength(1);
    expect((await api.post(`/v1/webhooks/${endpoint.id}/test`)).json()).toMatchObject({ status: 'succeeded' });
    expect(r.received).toHaveLength(2);
    expect(r.received[1].json.type).toBe('webhook.test');

    await expect.poll(() => r.ids().size, { timeout: 10_000 }).toBe(4);
    const [, , ...afterTheWait] = r.received;
    for (const received of afterTheWait) expect(received.at - r.received[0].at).toBeGreaterThanOrEqual(1_950);
    const attempts = async () => (await deliveriesOf(api, endpoint.id)).filter((d) => d.status === 'succeeded').map((d) => d.attempts.map((a) => a.statusCode));
    await expect.poll(async () => (await attempts()).sort(), { timeout: 5_000 }).toEqual([[200], [200], [200], [status, 200]].sort());
  });

  it('the wait a receiver asked for is shown: on the endpoint, on its pending deliveries, and on a replay that waits for it', async () => {
    const { api } = await setUp({ retryScheduleMs: [0, 100], concurrencyPerEndpoint: 1 });
    const r = await receiver((_request, index) => (index === 0 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    expect((await endpointOf(api, endpoint.id)).deliveries.heldUntil).toBeNull();
    const first = await api.record(statement('us-ban'));
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(1);
    await expect.poll(async () => (await endpointOf(api, endpoint.id)).deliveries.heldUntil, { timeout: 5_000 }).not.toBeNull();

    const heldUntil = Date.parse((await endpointOf(api, endpoint.id)).deliveries.heldUntil);
    expect(heldUntil - r.received[0].at).toBeGreaterThanOrEqual(2_900);
    expect(heldUntil - r.received[0].at).toBeLessThan(4_000);
    await api.record(statement('fr-sites', { country: 'FR' }));
    const replay = await api.post(`/v1/webhooks/${endpoint.id}/replay`, { after: first.position - 1 });
    expect(replay.statusCode).toBe(202);
    expect(Date.parse(replay.json().heldUntil)).toBe(heldUntil);
    const pending = (await api.get(`/v1/webhooks/${endpoint.id}/deliveries?status=pending`)).json().items as Array<{ nextAttemptAt: string }>;
    // The first change waiting for its retry, the second live, and both replayed.
    expect(pending.length).toBe(4);
    for (const delivery of pending) expect(Date.parse(delivery.nextAttemptAt)).toBeGreaterThanOrEqual(heldUntil);

    // Once the wait has passed, everything goes and the endpoint no longer says it is held.
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(5);
    for (const received of r.received.slice(1)) expect(received.at).toBeGreaterThanOrEqual(heldUntil - 50);
    expect((await endpointOf(api, endpoint.id)).deliveries.heldUntil).toBeNull();
  });

  it('the wait a receiver asked for holds its URL only: the endpoint moved to another URL sends at once', async () => {
    const { api } = await setUp({ retryScheduleMs: [0, 60_000] });
    const busy = await receiver(() => ({ status: 429, headers: { 'retry-after': '3600' } }));
    const elsewhere = await receiver();
    const endpoint = await api.createEndpoint({ url: busy.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.attempts.length, { timeout: 10_000 }).toBe(1);

    expect((await endpointOf(api, endpoint.id)).deliveries.heldUntil).not.toBeNull();
    expect((await api.patch(`/v1/webhooks/${endpoint.id}`, { url: elsewhere.url })).json().deliveries.heldUntil).toBeNull();
    const moved = await api.record(statement('fr-sites', { country: 'FR' }));
    await expect.poll(() => elsewhere.received.length, { timeout: 5_000 }).toBe(1);
    expect(elsewhere.received[0].json.data.position).toBe(moved.position);
    expect(busy.received).toHaveLength(1);
  });

  it('a Retry-After sooner than the schedule does not bring the retries forward: the schedule is kept, not burnt', async () => {
    // The receiver says "again in 1 s" every time; the schedule says 1.5 s, then 1.5 s.
    const { api } = await setUp({ retryScheduleMs: [0, 1_500, 1_500], retryJitter: 0 });
    const r = await receiver(() => ({ status: 503, headers: { 'retry-after': '1' } }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));

    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.status, { timeout: 10_000 }).toBe('failed');
    expect(r.received).toHaveLength(3);
    expect(r.received[1].at - r.received[0].at).toBeGreaterThanOrEqual(1_450);
    expect(r.received[2].at - r.received[1].at).toBeGreaterThanOrEqual(1_450);
    expect((await deliveriesOf(api, endpoint.id))[0].attempts.map((a) => a.statusCode)).toEqual([503, 503, 503]);
  });

  it('an answer slower than the timeout is a failed attempt, and the delivery is tried again', async () => {
    const { api } = await setUp({ timeoutMs: 300 });
    const r = await receiver((_request, index) => (index === 0 ? { status: 200, delayMs: 2_000 } : { status: 200 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));

    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.status, { timeout: 10_000 }).toBe('succeeded');
    const [first, second] = (await deliveriesOf(api, endpoint.id))[0].attempts;
    expect(first).toMatchObject({ statusCode: null, error: 'no answer within 300 ms' });
    expect(first.durationMs).toBeGreaterThanOrEqual(300);
    expect(first.durationMs).toBeLessThan(2_000);
    expect(second.statusCode).toBe(200);
  });

  it('a 2xx in time is a success even when its body is still arriving at the deadline: the log keeps what came', async () => {
    const { api } = await setUp({ timeoutMs: 300 });
    const body = 'accepted, and then some';
    const r = await receiver(() => ({ status: 200, body, bodyDelayMs: 2_000 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));

    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.status, { timeout: 10_000 }).toBe('succeeded');
    const [delivery] = await deliveriesOf(api, endpoint.id);
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ statusCode: 200, responseStart: body.slice(0, Math.ceil(body.length / 2)) });
    expect(delivery.attempts[0].error).toMatch(/not complete within the 300 ms limit/);
    expect(delivery.attempts[0].durationMs).toBeLessThan(2_000);
    expect(r.received).toHaveLength(1);
  });

  it('an attempt cut short by a shutdown is in the log, spends no retry, and the delivery goes after the restart', async () => {
    const data = tempDir('policy-state-shutdown-');
    cleanup.push(async () => data.cleanup());
    const r = await receiver((_request, index) => (index === 0 ? { status: 200, delayMs: 5_000 } : { status: 200 }));
    const first = await startWebhookService({ dataDir: data.dir, settings: { retryScheduleMs: [0] } });
    const endpoint = await client(first).createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await client(first).record(statement('us-ban'));
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(1);
    await first.stop(); // shutdownGraceMs is 100 ms: the attempt in flight is cut

    const again = await startWebhookService({ dataDir: data.dir, settings: { retryScheduleMs: [0] } });
    cleanup.push(() => again.stop());
    const api = client(again);
    // A schedule of one attempt: had the cut attempt spent it, the delivery would have failed for good.
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.status, { timeout: 10_000 }).toBe('succeeded');
    const [delivery] = await deliveriesOf(api, endpoint.id);
    expect(delivery.attempts).toMatchObject([{ statusCode: null, error: 'interrupted by shutdown' }, { statusCode: 200 }]);
    expect(r.received.map((x) => x.headers['webhook-id'])).toEqual([delivery.webhookId, delivery.webhookId]);
  });

  it('a 2xx whose body is still arriving at a shutdown is a success: the change is not sent again after the restart', async () => {
    const data = tempDir('policy-state-shutdown-body-');
    cleanup.push(async () => data.cleanup());
    const r = await receiver(() => ({ status: 200, body: 'accepted, and then some', bodyDelayMs: 5_000 }));
    const first = await startWebhookService({ dataDir: data.dir });
    const endpoint = await client(first).createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await client(first).record(statement('us-ban'));
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(1);
    await first.stop(); // shutdownGraceMs is 100 ms: the body is cut

    const again = await startWebhookService({ dataDir: data.dir });
    cleanup.push(() => again.stop());
    const [delivery] = await deliveriesOf(client(again), endpoint.id);
    expect(delivery.status).toBe('succeeded');
    expect(delivery.attempts).toMatchObject([{ statusCode: 200, error: expect.stringMatching(/cut short by a shutdown; its status counts/) }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.received).toHaveLength(1);
  });

  it('a redirect is not followed: a 3xx is a failed attempt', async () => {
    const { api } = await setUp({ retryScheduleMs: [0] });
    const elsewhere = await receiver();
    const r = await receiver(() => ({ status: 307, headers: { location: elsewhere.url } }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));

    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.status, { timeout: 10_000 }).toBe('failed');
    expect((await deliveriesOf(api, endpoint.id))[0].attempts.map((a) => a.statusCode)).toEqual([307]);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('an attempt that ends after its endpoint was disabled is counted, like the attempt log shows it', async () => {
    const { api } = await setUp({ retryScheduleMs: [0, 50, 50] });
    const r = await receiver(() => ({ status: 500, delayMs: 300 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(1);

    // Disabled while the attempt is in flight: the delivery is cancelled, the attempt still ends.
    expect((await api.patch(`/v1/webhooks/${endpoint.id}`, { enabled: false })).statusCode).toBe(200);
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.attempts.length, { timeout: 10_000 }).toBe(1);
    expect((await deliveriesOf(api, endpoint.id))[0]).toMatchObject({ status: 'cancelled', attemptCount: 1, attempts: [{ statusCode: 500 }] });
  });

  /** An endpoint whose one delivery has failed for good (a schedule of one attempt); its receiver answers 200 once `answer.up`. */
  async function aDeliveryThatGaveUp() {
    const { api } = await setUp({ retryScheduleMs: [0] });
    const answer = { up: false };
    const r = await receiver(() => ({ status: answer.up ? 200 : 500 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.status, { timeout: 10_000 }).toBe('failed');
    const [failed] = await deliveriesOf(api, endpoint.id);
    return { api, r, endpoint, failed, answer };
  }

  it('a delivery that gave up can be sent again by hand', async () => {
    const { api, r, endpoint, failed, answer } = await aDeliveryThatGaveUp();
    answer.up = true;
    const retried = await api.post(`/v1/webhooks/${endpoint.id}/deliveries/${failed.id}/retry`);
    expect(retried.statusCode).toBe(202);
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.status, { timeout: 10_000 }).toBe('succeeded');
    expect((await deliveriesOf(api, endpoint.id))[0].attempts.map((a) => a.statusCode)).toEqual([500, 200]);
    expect(r.ids()).toEqual(new Set([failed.webhookId]));
    expect((await api.post(`/v1/webhooks/${endpoint.id}/deliveries/dlv_nosuchdelivery/retry`)).statusCode).toBe(404);
  });
  it('a delivery of a disabled endpoint is not retried by hand until it is enabled again (a test ping is)', async () => {
    const { api, r, endpoint, failed, answer } = await aDeliveryThatGaveUp();
    expect((await api.patch(`/v1/webhooks/${endpoint.id}`, { enabled: false })).statusCode).toBe(200);

    const refused = await api.post(`/v1/webhooks/${endpoint.id}/deliveries/${failed.id}/retry`);
    expect(refused.statusCode).toBe(409);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json().detail).toMatch(/disabled; enable it/);
    expect((await deliveriesOf(api, endpoint.id))[0]).toMatchObject({ id: failed.id, status: 'failed' });
    // A test ping is for checking a disabled endpoint: it can be sent again.
    const ping = (await api.post(`/v1/webhooks/${endpoint.id}/test`)).json();
    expect(ping).toMatchObject({ status: 'failed' });
    expect((await api.post(`/v1/webhooks/${endpoint.id}/deliveries/${ping.id}/retry`)).statusCode).toBe(202);

    answer.up = true;
    expect((await api.patch(`/v1/webhooks/${endpoint.id}`, { enabled: true })).statusCode).toBe(200);
    expect((await api.post(`/v1/webhooks/${endpoint.id}/deliveries/${failed.id}/retry`)).statusCode).toBe(202);
    await expect.poll(() => r.ids().has(failed.webhookId), { timeout: 10_000 }).toBe(true);
  });
});

describe('endpoints that stop answering', () => {
  it('410 Gone disables the endpoint with an endpoint.disabled note, and nothing more is sent to it', async () => {
    const { api } = await setUp();
    const gone = await receiver(() => ({ status: 410 }));
    const witness = await receiver();
    const endpoint = await api.createEndpoint({ url: gone.url, types: ['statement.recorded'] });
    await api.createEndpoint({ url: witness.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));

    await expect.poll(async () => (await endpointOf(api, endpoint.id)).enabled, { timeout: 10_000 }).toBe(false);
    expect((await endpointOf(api, endpoint.id)).disabled).toMatchObject({ type: 'endpoint.disabled', reason: 'gone' });
    await api.record(statement('fr-sites', { country: 'FR', stance: 'permits' }));
    await expect.poll(() => witness.ids().size, { timeout: 10_000 }).toBe(2);
    expect(gone.received).toHaveLength(1);
  });

  it('410 Gone stops a burst already queued for the endpoint: nothing is sent once it is disabled, and the rest is cancelled', async () => {
    // One delivery at a time, each answered 410 a second later: the rest of the burst waits in the endpoint's queue.
    const { api } = await setUp({ concurrencyPerEndpoint: 1 });
    const gone = await receiver(() => ({ status: 410, delayMs: 1_000 }));
    const endpoint = await api.createEndpoint({ url: gone.url, types: ['statement.recorded'] });
    const countries = ['US', 'FR', 'DE', 'GB', 'CA', 'BE', 'NL', 'PL'];
    for (const [i, country] of countries.entries()) await api.record(statement(`burst-${i}`, { country }));

    await expect.poll(async () => (await endpointOf(api, endpoint.id)).disabled?.reason, { timeout: 10_000 }).toBe('gone');
    const disabledAt = Date.parse((await endpointOf(api, endpoint.id)).disabled.at);
    // Long enough for the next of the queue to have gone out, had it been sent after the 410 disabled the endpoint.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // What was already on its way when the 410 came may arrive; nothing sent after it was disabled may.
    for (const request of gone.received) expect(request.at).toBeLessThan(disabledAt + 500);
    expect(gone.received.length).toBeLessThan(countries.length);
    const deliveries = await deliveriesOf(api, endpoint.id);
    expect(deliveries).toHaveLength(countries.length);
    for (const delivery of deliveries) {
      if (delivery.attempts.length === 0) expect(delivery.status).toBe('cancelled');
      else expect(delivery.attempts.map((a) => a.statusCode)).toEqual([410]);
    }
  });

  it('503s with Retry-After are failures too: answering them for the configured time disables it', async () => {
    const { api } = await setUp({ disableAfterMs: 1_500, retryScheduleMs: [0, ...Array(20).fill(100)] });
    const r = await receiver(() => ({ status: 503, headers: { 'retry-after': '1' } }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    const missed = await api.record(statement('us-ban'));

    await expect.poll(async () => (await endpointOf(api, endpoint.id)).disabled?.reason, { timeout: 10_000 }).toBe('failing');
    expect((await endpointOf(api, endpoint.id)).disabled).toMatchObject({ replayAfter: missed.position - 1 });
    // Each retry waited for the Retry-After (1 s), not the schedule's 100 ms.
    expect(r.received.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < r.received.length; i++) expect(r.received[i].at - r.received[i - 1].at).toBeGreaterThanOrEqual(950);
  });

  it('failing continuously for the configured time disables it; enabled again, a replay from its note brings every change it missed', async () => {
    const { api } = await setUp({ disableAfterMs: 400, retryScheduleMs: [0, ...Array(40).fill(100)] });
    let up = false;
    const r = await receiver(() => ({ status: up ? 200 : 500 }));
    const witness = await receiver();
    const endpoint = await api.createEndpoint({ url: r.url });
    await api.createEndpoint({ url: witness.url });
    const missed = await api.record(statement('us-ban'));

    await expect.poll(async () => (await endpointOf(api, endpoint.id)).disabled?.reason, { timeout: 10_000 }).toBe('failing');
    const { disabled } = await endpointOf(api, endpoint.id);
    expect(disabled).toMatchObject({ type: 'endpoint.disabled', replayAfter: missed.position - 1 });
    expect(disabled.failingSince).not.toBeNull();
    // Said in the unit the span fills (about half a second here), not as "0.00 days".
    expect(disabled.detail).toMatch(/^every attempt failed for (\d+ milliseconds|\d+(\.\d)? seconds?) \(since /);
    expect(disabled.detail).toContain(`(since ${disabled.failingSince})`);
    // Its pending deliveries were given up with it.
    expect(new Set((await deliveriesOf(api, endpoint.id)).map((d) => d.status))).toEqual(new Set(['cancelled']));

    // Changes while it is disabled are not sent to it.
    await api.record(statement('fr-sites', { country: 'FR', stance: 'permits' }));
    const changes = await api.changes();
    await expect.poll(() => witness.ids().size, { timeout: 10_000 }).toBe(changes.length);
    expect(r.ids().size).toBe(0);
    expect((await api.post(`/v1/webhooks/${endpoint.id}/replay`, { after: disabled.replayAfter })).statusCode).toBe(409);

    up = true;
    const enabled = await api.patch(`/v1/webhooks/${endpoint.id}`, { enabled: true });
    // Enabled, the note is no longer "disabled", but it is kept: its replayAfter is what to replay from.
    expect(enabled.json()).toMatchObject({ enabled: true, disabled: null, lastDisabled: disabled });
    expect((await endpointOf(api, endpoint.id)).lastDisabled).toEqual(disabled);
    const listed = (await api.get('/v1/webhooks')).json().items.find((e: { id: string }) => e.id === endpoint.id);
    expect(listed.lastDisabled).toEqual(disabled);
    const replay = await api.post(`/v1/webhooks/${endpoint.id}/replay`, { after: enabled.json().lastDisabled.replayAfter });
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toMatchObject({ deliveries: changes.length });
    await expect.poll(() => r.ids(), { timeout: 10_000 }).toEqual(new Set(changes.map((c) => c.id)));

    // Every change has the number it was given when it was made, while disabled too: the receiver saw
    // a gap until the replay filled it, and the next change follows on.
    await api.record(statement('de-next', { country: 'DE' }));
    const next = (await api.changes()).slice(changes.length);
    await expect.poll(() => next.every((c) => r.ids().has(c.id)), { timeout: 10_000 }).toBe(true);
    const numbered = new Map(r.received.filter((x) => x.status === 200).map((x) => [String(x.headers['webhook-id']), x.json.data.sequence]));
    expect([...changes, ...next].map((c) => numbered.get(c.id))).toEqual([...changes, ...next].map((_, i) => i + 1));
  });
});

describe("the endpoint.disabled note's replayAfter brings back every change the endpoint missed while failing", () => {
  const reenableAndReplay = async (api: ReturnType<typeof client>, endpointId: string, after: number) => {
    expect((await api.patch(`/v1/webhooks/${endpointId}`, { enabled: true })).statusCode).toBe(200);
    const replay = await api.post(`/v1/webhooks/${endpointId}/replay`, { after });
    expect(replay.statusCode).toBe(202);
    return replay.json() as { deliveries: number };
  };

  it('the changes answered 410, which disabled it', async () => {
    const { api } = await setUp();
    let gone = true;
    // All at once, answered together: every one has failed by the time the endpoint is disabled.
    const r = await receiver(() => (gone ? { status: 410, delayMs: 100 } : { status: 200 }));
    const endpoint = await api.createEndpoint({ url: r.url });
    const recorded = await api.record(statement('us-ban'));
    const missed = (await api.changes()).filter((c) => c.position === recorded.position);
    expect(missed.length).toBeGreaterThanOrEqual(2);

    await expect.poll(async () => (await endpointOf(api, endpoint.id)).disabled?.reason, { timeout: 10_000 }).toBe('gone');
    const { disabled } = await endpointOf(api, endpoint.id);
    expect(disabled.replayAfter).toBe(recorded.position - 1);
    gone = false;
    expect(await reenableAndReplay(api, endpoint.id, disabled.replayAfter)).toMatchObject({ deliveries: missed.length });
    await expect.poll(() => r.ids(), { timeout: 10_000 }).toEqual(new Set(missed.map((c) => c.id)));
  });

  it('a change that failed for good before the one after which it was disabled for failing', async () => {
    const clock = movableClock();
    const { api } = await setUp({ retryScheduleMs: [0, 50], retryJitter: 0, disableAfterMs: 4_000, concurrencyPerEndpoint: 1 }, clock.now);
    let up = false;
    // The first change is answered, slowly: the next one waits for the slot and is first sent well after it was queued.
    const r = await receiver((_request, index) => (index === 0 ? { status: 200, delayMs: 300 } : { status: up ? 200 : 500 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('de-answered', { country: 'DE' }));
    const failed = await api.record(statement('us-ban'));
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id)).map((d) => d.status), { timeout: 10_000 }).toEqual(['failed', 'succeeded']);

    clock.advance(4_000);
    await api.record(statement('fr-sites', { country: 'FR', stance: 'permits' }));
    await expect.poll(async () => (await endpointOf(api, endpoint.id)).disabled?.reason, { timeout: 10_000 }).toBe('failing');
    const { disabled } = await endpointOf(api, endpoint.id);
    expect(disabled.replayAfter).toBe(failed.position - 1);
    up = true;
    expect(await reenableAndReplay(api, endpoint.id, disabled.replayAfter)).toMatchObject({ deliveries: 2 });
    const recorded = (await api.changes()).filter((c) => c.type === 'statement.recorded');
    await expect.poll(() => r.ids(), { timeout: 10_000 }).toEqual(new Set(recorded.map((c) => c.id)));
  });

  it('a failure after days without traffic does not disable the endpoint at once: the delivery gets its retries, and the endpoint stays enabled', async () => {
    const clock = movableClock();
    const days = 86_400_000;
    const { api } = await setUp({ retryScheduleMs: [0, 50], retryJitter: 0, disableAfterMs: 4 * days }, clock.now);
    // Failing, until the second attempt of the change after the quiet spell.
    const r = await receiver((_request, index) => ({ status: index >= 3 ? 200 : 500 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    await api.record(statement('us-ban'));
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id)).map((d) => d.status), { timeout: 10_000 }).toEqual(['failed']);

    // Five days with nothing to send: no evidence that it kept failing.
    clock.advance(5 * days);
    await api.record(statement('fr-sites', { country: 'FR', stance: 'permits' }));
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id)).map((d) => d.status), { timeout: 10_000 }).toEqual(['succeeded', 'failed']);
    expect(r.received).toHaveLength(4);
    expect((await endpointOf(api, endpoint.id))).toMatchObject({ enabled: true, disabled: null });
  });

  it('an endpoint still down after days without traffic is disabled once that delivery has spent its schedule', async () => {
    const clock = movableClock();
    const days = 86_400_000;
    const { api } = await setUp({ retryScheduleMs: [0, 50], retryJitter: 0, disableAfterMs: 4 * days }, clock.now);
    const r = await receiver(() => ({ status: 500 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    const first = await api.record(statement('us-ban'));
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id)).map((d) => d.status), { timeout: 10_000 }).toEqual(['failed']);

    clock.advance(5 * days);
    await api.record(statement('fr-sites', { country: 'FR', stance: 'permits' }));
    await expect.poll(async () => (await endpointOf(api, endpoint.id)).disabled?.reason, { timeout: 10_000 }).toBe('failing');
    // Both attempts of the new delivery were made before it was disabled.
    expect(r.received).toHaveLength(4);
    const { disabled } = await endpointOf(api, endpoint.id);
    // Failing since the first change's attempts, five days before: the quiet spell did not end that.
    expect(Date.parse(disabled.failingSince)).toBeLessThanOrEqual(clock.now().getTime() - 5 * days);
    expect(disabled.detail).toMatch(/^every attempt failed for 5(\.\d)? days \(since /);
    expect(disabled.replayAfter).toBe(first.position - 1);
  });

  it('a change that failed for good before the endpoint was disabled by hand', async () => {
    const { api } = await setUp({ retryScheduleMs: [0, 50], retryJitter: 0 });
    let up = false;
    const r = await receiver(() => ({ status: up ? 200 : 500 }));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    const first = await api.record(statement('us-ban'));
    await expect.poll(async () => (await deliveriesOf(api, endpoint.id))[0]?.status, { timeout: 10_000 }).toBe('failed');

    const { disabled } = (await api.patch(`/v1/webhooks/${endpoint.id}`, { enabled: false })).json();
    expect(disabled).toMatchObject({ reason: 'manual', replayAfter: first.position - 1 });
    up = true;
    expect(await reenableAndReplay(api, endpoint.id, disabled.replayAfter)).toMatchObject({ deliveries: 1 });
    await expect.poll(() => r.ids().size, { timeout: 10_000 }).toBe(1);
  });
});

describe('replay and the test ping', () => {
  it('a replay from a log position sends those changes again with their webhook-ids and sequence numbers', async () => {
    const { api } = await setUp();
    const r = await receiver();
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    const first = await api.record(statement('us-ban'));
    await api.record(statement('fr-sites', { country: 'FR', stance: 'permits' }));
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(2);

    const replay = await api.post(`/v1/webhooks/${endpoint.id}/replay`, { after: first.position });
    expect(replay.json()).toMatchObject({ deliveries: 1, after: first.position });
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(3);
    expect(r.received[2].headers['webhook-id']).toBe(r.received[1].headers['webhook-id']);
    // The same number as live: a replay does not move the endpoint's numbering.
    expect(r.received.map((x) => x.json.data.sequence)).toEqual([1, 2, 2]);
    verify(endpoint.secret, r.received[2]);
  });

  it('a replay from past the head of the log, or from a day not begun, is refused naming body.after, as the change feed refuses it', async () => {
    const { api } = await setUp();
    const r = await receiver();
    const endpoint = await api.createEndpoint({ url: r.url });
    const head = (await api.record(statement('us-ban'))).position;
    for (const after of [head + 1, `${head + 1}@2024-05-30`, `${head}@2999-01-01`]) {
      const refused = await api.post(`/v1/webhooks/${endpoint.id}/replay`, { after });
      expect(refused.statusCode).toBe(400);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.json().errors).toEqual([expect.objectContaining({ path: 'body.after' })]);
    }
    expect((await api.post(`/v1/webhooks/${endpoint.id}/replay`, { after: head })).statusCode).toBe(202);
  });

  it('a replay, a retry or a deletion with a field it does not take is refused naming the field, and nothing is done', async () => {
    const { api } = await setUp();
    const r = await receiver();
    const endpoint = await api.createEndpoint({ url: r.url });
    for (const after of [undefined, 1.5, -1, 'soon']) {
      const refused = await api.post(`/v1/webhooks/${endpoint.id}/replay`, after === undefined ? {} : { after });
      expect(refused.statusCode, String(after)).toBe(400);
      const message = after === undefined ? 'is required' : expect.stringContaining('must be a log position');
      expect(refused.json().errors).toEqual([{ path: 'body.after', message }]);
    }
    const ping = (await api.post(`/v1/webhooks/${endpoint.id}/test`)).json();
    const retried = await api.post(`/v1/webhooks/${endpoint.id}/deliveries/${ping.id}/retry`, { x: 1 });
    expect(retried.statusCode).toBe(400);
    expect(retried.json().errors).toEqual([expect.objectContaining({ path: expect.stringMatching(/^body/) })]);
    const deleted = await api.call('DELETE', `/v1/webhooks/${endpoint.id}`, { x: 1 });
    expect(deleted.statusCode).toBe(400);
    expect((await api.get(`/v1/webhooks/${endpoint.id}`)).statusCode).toBe(200);
    // With no body, or {}, they are done.
    expect((await api.post(`/v1/webhooks/${endpoint.id}/deliveries/${ping.id}/retry`, {})).statusCode).toBe(202);
    expect((await api.delete(`/v1/webhooks/${endpoint.id}`)).statusCode).toBe(204);
  });

  it('a replayed change the endpoint never had live has no sequence number, as /openapi.json says', async () => {
    const { api } = await setUp();
    const r = await receiver();
    const before = await api.record(statement('us-ban'));
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'] });
    expect((await api.post(`/v1/webhooks/${endpoint.id}/replay`, { after: before.position - 1 })).json()).toMatchObject({ deliveries: 1 });
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(1);
    expect(r.received[0].json.data).toMatchObject({ position: before.position, sequence: null });

    const doc = (await api.get('/openapi.json', {})).json();
    const described = doc.paths['/v1/webhooks/{id}/replay'].post.description as string;
    expect(described).toMatch(/keeps .* the sequence number it had live/);
    expect(described).toContain('"sequence": null');
    expect(described).not.toMatch(/new sequence number/);
  });

  it('a test ping is signed, and the answer shows its first attempt', async () => {
    const { api } = await setUp();
    const r = await receiver(() => ({ status: 202, body: 'pong' }));
    const endpoint = await api.createEndpoint({ url: r.url });
    const ping = await api.post(`/v1/webhooks/${endpoint.id}/test`);
    expect(ping.statusCode).toBe(200);
    expect(ping.json()).toMatchObject({ type: 'webhook.test', origin: 'test', status: 'succeeded', attempts: [{ statusCode: 202, responseStart: 'pong' }] });
    expect(verify(endpoint.secret, r.received[0])).toMatchObject({ type: 'webhook.test', data: { endpointId: endpoint.id } });
  });

  it('many test pings at once each get their answer, with no listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    cleanup.push(async () => void process.off('warning', onWarning));
    const { api } = await setUp();
    const r = await receiver();
    const endpoint = await api.createEndpoint({ url: r.url });
    const pings = await Promise.all(Array.from({ length: 20 }, () => api.post(`/v1/webhooks/${endpoint.id}/test`)));
    expect(pings.map((ping) => ping.json().status)).toEqual(Array(20).fill('succeeded'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});
