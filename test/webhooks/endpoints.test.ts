// Managing endpoints through the API: admin only, the secret shown once and
// kept only sealed, rotation with both signatures, and a public log that
// never shows an endpoint's URL or secret.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, client, movableClock, startReceiver, startWebhookService, statement, verify, writer, type Receiver, type TestService } from './helpers.js';

let service: TestService;
let api: ReturnType<typeof client>;
let receiver: Receiver;
beforeAll(async () => {
  service = await startWebhookService();
  api = client(service);
  receiver = await startReceiver();
});
afterAll(async () => {
  await service.stop();
  await receiver.close();
});

describe('managing webhook endpoints', () => {
  it('needs an admin key', async () => {
    for (const [method, url] of [['POST', '/v1/webhooks'], ['GET', '/v1/webhooks'], ['GET', '/v1/webhooks/ep_abcdefgh1234'], ['POST', '/v1/webhooks/ep_abcdefgh1234/test']] as const) {
      expect((await api.call(method, url, method === 'POST' ? { url: receiver.url } : undefined, {})).statusCode).toBe(401);
      const asWriter = await api.call(method, url, method === 'POST' ? { url: receiver.url } : undefined, writer);
      expect(asWriter.statusCode).toBe(403);
      expect(asWriter.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('shows the whsec_ secret once, at creation, and keeps it only sealed', async () => {
    const created = await api.post('/v1/webhooks', { url: receiver.url, description: 'newsroom', types: ['position.changed'], countries: ['US', 'FR'] });
    expect(created.statusCode).toBe(201);
    const endpoint = created.json();
    expect(created.headers.location).toBe(`/v1/webhooks/${endpoint.id}`);
    // No cache on the way (a proxy, the client's own) may keep the answer that holds the secret.
    expect(created.headers['cache-control']).toBe('no-store');
    expect(endpoint).toMatchObject({ url: receiver.url, description: 'newsroom', types: ['position.changed'], countries: ['US', 'FR'], enabled: true, disabled: null, lastDisabled: null });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(endpoint.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);

    const one = await api.get(`/v1/webhooks/${endpoint.id}`);
    const list = await api.get('/v1/webhooks');
    expect(one.json()).toMatchObject({ id: endpoint.id, url: receiver.url });
    expect(list.json().items.map((e: { id: string }) => e.id)).toContain(endpoint.id);
    for (const body of [one.body, list.body]) {
      expect(body).not.toContain(endpoint.secret);
      expect(body).not.toContain('whsec_');
    }
    // Neither the log nor webhooks.db hold the secret in the clear.
    const key = endpoint.secret.slice('whsec_'.length);
    for (const file of ['events.db', 'webhooks.db', 'read-model.db']) {
      const bytes = readFileSync(path.join(service.dataDir, file));
      expect(bytes.includes(key)).toBe(false);
      expect(bytes.includes(Buffer.from(key, 'base64'))).toBe(false);
    }
  });

  it('changes the URL, filters and description, and refuses what is not valid', async () => {
    const endpoint = await api.createEndpoint({ url: receiver.url });
    const other = await startReceiver();
    const patched = await api.patch(`/v1/webhooks/${endpoint.id}`, { url: other.url, types: ['history.revised'], countries: ['DE'], description: 'desk' });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ url: other.url, types: ['history.revised'], countries: ['DE'], description: 'desk' });
    const cleared = await api.patch(`/v1/webhooks/${endpoint.id}`, { types: null, countries: null });
    expect(cleared.json()).toMatchObject({ types: null, countries: null, url: other.url });

    const badCountry = await api.patch(`/v1/webhooks/${endpoint.id}`, { countries: ['XX'] });
    expect(badCountry.statusCode).toBe(400);
    expect(badCountry.json().errors[0].path).toBe('body.countries.0');
    expect((await api.patch(`/v1/webhooks/${endpoint.id}`, { types: ['everything'] })).statusCode).toBe(400);
    // A filter names each value once; a repeat is named where it is.
    const repeated = await api.patch(`/v1/webhooks/${endpoint.id}`, { types: ['position.changed', 'history.revised', 'position.changed'], countries: ['DE', 'FR', 'DE'] });
    expect(repeated.statusCode).toBe(400);
    expect(repeated.json().errors.map((e: { path: string }) => e.path)).toEqual(['body.types.2', 'body.countries.2']);
    expect((await api.get(`/v1/webhooks/${endpoint.id}`)).json()).toMatchObject({ types: null, countries: null });
    expect((await api.post('/v1/webhooks', { url: 'ftp://127.0.0.1/x' })).json().errors[0].path).toBe('body.url');
    // Credentials as the URL parses them, however they are written; nothing is created.
    const before = (await api.get('/v1/webhooks')).json().items.length;
    for (const url of ['http://user:password@127.0.0.1/x', 'http:///user:s3cr3t@127.0.0.1:4711/x', 'http://:pw@127.0.0.1/x']) {
      const refused = await api.post('/v1/webhooks', { url });
      expect(refused.statusCode, url).toBe(400);
      expect(refused.json().errors, url).toEqual([{ path: 'body.url', message: 'must not contain credentials' }]);
    }
    expect((await api.get('/v1/webhooks')).json().items.length).toBe(before);
    expect((await api.post('/v1/webhooks', { url: 'http://[::1' })).json().errors, 'a URL that does not parse').toEqual([{ path: 'body.url', message: expect.any(String) }]);
    expect((await api.patch('/v1/webhooks/ep_doesnotexist00', { description: 'x' })).statusCode).toBe(404);
    expect((await api.get('/v1/webhooks/not-an-id')).statusCode).toBe(400);
    await other.close();
  });

  it('an Idempotency-Key makes a repeated create no second endpoint: the repeat is refused naming the first, whose secret was shown once', async () => {
    const ids = async () => (await api.get('/v1/webhooks?limit=500')).json().items.map((e: { id: string }) => e.id) as string[];
    const before = await ids();
    const key = { ...admin, 'idempotency-key': 'create-newsroom-1' };
    const body = { url: receiver.url, description: 'retried' };
    const first = await api.post('/v1/webhooks', body, key);
    expect(first.statusCode).toBe(201);
    const { id } = first.json();
    const repeat = await api.post('/v1/webhooks', body, key);
    expect(repeat.statusCode).toBe(409);
    expect(repeat.headers['content-type']).toContain('application/problem+json');
    expect(repeat.json().detail).toContain(`"${id}"`);
    expect(repeat.json().detail).toContain(`/v1/webhooks/${id}/rotate-secret`);
    expect(repeat.body).not.toContain('whsec_');
    const empty = await api.post('/v1/webhooks', body, { ...admin, 'idempotency-key': '' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().errors).toEqual([{ path: 'headers.idempotency-key', message: expect.any(String) }]);
    const otherBody = await api.post('/v1/webhooks', { ...body, description: 'another' }, key);
    expect(otherBody.statusCode).toBe(422);
    expect(otherBody.json().errors).toEqual([{ path: 'headers.idempotency-key', message: expect.any(String) }]);
    expect(await ids()).toEqual([...before, id]);

    // Sent twice at once: one creates it, the other is told it is a repeat.
    const raced = { ...admin, 'idempotency-key': 'create-newsroom-2' };
    const answers = await Promise.all([api.post('/v1/webhooks', body, raced), api.post('/v1/webhooks', body, raced)]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409]);
    expect(await ids()).toHaveLength(before.length + 2);
  });

  it('deletes an endpoint: 204, then it is gone', async () => {
    const endpoint = await api.createEndpoint({ url: receiver.url });
    expect((await api.delete(`/v1/webhooks/${endpoint.id}`)).statusCode).toBe(204);
    expect((await api.get(`/v1/webhooks/${endpoint.id}`)).statusCode).toBe(404);
    expect((await api.delete(`/v1/webhooks/${endpoint.id}`)).statusCode).toBe(404);
    expect((await api.get(`/v1/webhooks/${endpoint.id}/deliveries`)).statusCode).toBe(404);
    expect((await api.get('/v1/webhooks')).json().items.map((e: { id: string }) => e.id)).not.toContain(endpoint.id);
  });

  it('disables and enables by hand, with a note', async () => {
    const endpoint = await api.createEndpoint({ url: receiver.url });
    const disabled = await api.patch(`/v1/webhooks/${endpoint.id}`, { enabled: false });
    expect(disabled.json()).toMatchObject({ enabled: false, disabled: { type: 'endpoint.disabled', reason: 'manual' } });
    const enabled = await api.patch(`/v1/webhooks/${endpoint.id}`, { enabled: true });
    expect(enabled.json()).toMatchObject({ enabled: true, disabled: null });
  });
});

describe('rotating the secret', () => {
  it('signs with the new and the previous secret for 24 hours, each verifiable on its own', async () => {
    const r = await startReceiver();
    const endpoint = await api.createEndpoint({ url: r.url, types: ['statement.recorded'], countries: ['PL'] });
    const rotated = await api.post(`/v1/webhooks/${endpoint.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    const { secret, previousSecretValidUntil } = rotated.json();
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(endpoint.secret);
    const overlap = Date.parse(previousSecretValidUntil) - Date.now();
    expect(overlap).toBeGreaterThan(23.9 * 3_600_000);
    expect(overlap).toBeLessThanOrEqual(24 * 3_600_000);
    expect((await api.get(`/v1/webhooks/${endpoint.id}`)).json().previousSecretValidUntil).toBe(previousSecretValidUntil);

    await api.record(statement('pl-rotation', { country: 'PL', stance: 'permits' }));
    await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(1);
    const [delivery] = r.received;
    expect(String(delivery.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(secret, delivery)).toMatchObject({ type: 'statement.recorded' });
    expect(verify(endpoint.secret, delivery)).toMatchObject({ type: 'statement.recorded' });
    expect(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, delivery)).toThrow();
    await r.close();
  });
});

describe('routes that take no fields', () => {
  it.each(['rotate-secret', 'test'])('POST .../%s refuses a body with a field, naming it, and does nothing; no body or {} is accepted', async (route) => {
    const endpoint = await api.createEndpoint({ url: receiver.url });
    const url = `/v1/webhooks/${endpoint.id}/${route}`;
    const deliveries = async () => (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`)).json().items.length as number;
    const events = async () => (await api.get('/v1/events?limit=500', {})).json().items.length as number;
    const [eventsBefore, deliveriesBefore] = [await events(), await deliveries()];

    const refused = await api.post(url, { x: 1 });
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json().errors).toEqual([{ path: 'body', message: expect.stringContaining('"x"') }]);
    // Not rotated, not pinged.
    expect(await events()).toBe(eventsBefore);
    expect(await deliveries()).toBe(deliveriesBefore);

    for (const request of [{}, { payload: {} }, { payload: '' }]) {
      const accepted = await service.app.inject({ method: 'POST', url, headers: admin, ...request });
      expect(accepted.statusCode, JSON.stringify(request)).toBe(200);
    }
  });
});

describe('the previous secret after its overlap', () => {
  it('is no longer shown once it has stopped signing', async () => {
    const clock = movableClock();
    const own = await startWebhookService({ now: clock.now });
    try {
      const ownApi = client(own);
      const endpoint = await ownApi.createEndpoint({ url: receiver.url });
      expect((await ownApi.get(`/v1/webhooks/${endpoint.id}`)).json().previousSecretValidUntil).toBeNull();
      const { previousSecretValidUntil } = (await ownApi.post(`/v1/webhooks/${endpoint.id}/rotate-secret`)).json();
      expect((await ownApi.get(`/v1/webhooks/${endpoint.id}`)).json().previousSecretValidUntil).toBe(previousSecretValidUntil);

      clock.advance(24 * 3_600_000 + 1_000);
      expect((await ownApi.get(`/v1/webhooks/${endpoint.id}`)).json().previousSecretValidUntil).toBeNull();
      const listed = (await ownApi.get('/v1/webhooks')).json().items.find((e: { id: string }) => e.id === endpoint.id);
      expect(listed.previousSecretValidUntil).toBeNull();
    } finally {
      await own.stop();
    }
  });
});

describe('the public log', () => {
  it('shows webhook endpoint events in their place, without URL or secret, to anyone', async () => {
    const r = await startReceiver();
    const endpoint = await api.createEndpoint({ url: `${r.url}?token=s3cr3t-query-token` });
    await api.post(`/v1/webhooks/${endpoint.id}/rotate-secret`);
    const log = await api.get('/v1/events?limit=500', {});
    expect(log.statusCode).toBe(200);
    const items = log.json().items as Array<{ streamId: string; type: string; data: Record<string, unknown> }>;
    const mine = items.filter((e) => e.streamId === `webhook-endpoint-${endpoint.id}`);
    expect(mine.map((e) => e.type)).toEqual(['WebhookEndpointCreated', 'WebhookEndpointSecretRotated']);
    for (const event of mine) expect(Object.keys(event.data).sort()).toEqual(['endpointId', 'redacted']);
    expect(log.body).not.toContain('s3cr3t-query-token');
    expect(log.body).not.toContain(`127.0.0.1:${r.port}`);
    expect(log.body).not.toContain('whsec_');
    expect(log.body).not.toMatch(/"v1\.[A-Za-z0-9_-]+\./);
    // Still there for an admin.
    expect((await api.get(`/v1/webhooks/${endpoint.id}`, admin)).json().url).toContain('s3cr3t-query-token');
    await r.close();
  });
});
