// Webhooks never reach inside the network: hosts resolving to loopback,
// private, link-local or metadata addresses are refused, unless allowed; the
// address checked is the address connected to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy, refusalOf, type ResolvedAddress, type Resolver } from '../../src/webhooks/address-safety.js';
import { client, startReceiver, startWebhookService, statement, verify, type Receiver, type TestService } from './helpers.js';

const PUBLIC = '93.184.216.34';

describe('which addresses may be called', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.10.10', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['192.0.0.192', 'metadata'],
    ['100.64.0.1', 'carrier-grade'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['64:ff9b::7f00:1', 'reserved'],
    // IPv4-compatible IPv6 (::/96, deprecated by RFC 4291), as URLs and DNS write it: ipaddr.js calls it unicast.
    ['::7f00:1', 'IPv4-compatible'],
    ['::a00:1', 'IPv4-compatible'],
    ['::a9fe:a9fe', 'IPv4-compatible'],
  ])('%s is refused (%s)', (address, kind) => {
    expect(refusalOf(address)).toMatch(new RegExp(kind.split('-')[0]));
  });

  it.each([PUBLIC, '8.8.8.8', '2606:4700:4700::1111'])('%s is a public address', (address) => {
    expect(refusalOf(address)).toBeUndefined();
  });

  it('refuses a name if any of its addresses is internal, and allows any address of an allowed host', async () => {
    const names: Record<string, ResolvedAddress[]> = {
      'mixed.example': [{ address: PUBLIC, family: 4 }, { address: '192.168.0.10', family: 4 }],
      'internal.example': [{ address: '10.0.0.7', family: 4 }],
    };
    const policy = new AddressPolicy(['internal.example'], async (host) => names[host]);
    await expect(policy.vet('mixed.example')).rejects.toThrow(/192\.168\.0\.10, a private address/);
    await expect(policy.vet('INTERNAL.example')).resolves.toEqual(names['internal.example']);
  });
});

describe('through the API and at delivery', () => {
  let service: TestService;
  let api: ReturnType<typeof client>;
  let receiver: Receiver;
  // The test's DNS: names of our choosing, one of which changes its answer.
  let flipTo = PUBLIC;
  const resolve: Resolver = async (host) => {
    const table: Record<string, string> = {
      'metadata.google.internal': '169.254.169.254',
      'intranet.example': '10.20.30.40',
      'localhost': '127.0.0.1',
      'public.example': PUBLIC,
      'hooks.allowed.example': '127.0.0.1',
      'flip.example': flipTo,
    };
    if (host === 'dns-down.example') throw Object.assign(new Error(`queryA ETIMEOUT ${host}`), { code: 'ETIMEOUT' });
    if (!table[host]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address: table[host], family: 4 }];
  };

  beforeAll(async () => {
    service = await startWebhookService({ env: { WEBHOOK_ALLOWED_HOSTS: 'hooks.allowed.example' }, resolve, settings: { retryScheduleMs: [0] } });
    api = client(service);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await service.stop();
    await receiver.close();
  });

  it.each([
    ['http://localhost:8080/hooks', 'loopback'],
    ['http://127.0.0.1:8080/hooks', 'loopback'],
    ['http://[::1]:8080/hooks', 'loopback'],
    ['http://[::ffff:127.0.0.1]/hooks', 'loopback'],
    ['http://[::127.0.0.1]/hooks', 'IPv4-compatible'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://intranet.example/hooks', 'private'],
    ['https://10.0.0.5/hooks', 'private'],
    ['http://nowhere.example/hooks', 'does not resolve'],
  ])('refuses %s with 422 naming body.url', async (url, why) => {
    const response = await api.post('/v1/webhooks', { url });
    expect(response.statusCode).toBe(422);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const problem = response.json();
    expect(problem.errors).toEqual([{ path: 'body.url', message: expect.stringMatching(new RegExp(why)) }]);
  });

  it('a host whose DNS does not answer is a 503 to try again, not a 422 to fix the URL, on create and on update', async () => {
    const created = await api.post('/v1/webhooks', { url: 'https://dns-down.example/hooks' });
    expect(created.statusCode).toBe(503);
    expect(created.headers['content-type']).toContain('application/problem+json');
    expect(Number(created.headers['retry-after'])).toBeGreaterThan(0);
    expect(created.json().detail).toMatch(/DNS did not answer.*ETIMEOUT/);
    const endpoint = await api.createEndpoint({ url: 'https://public.example/hooks' });
    expect((await api.patch(`/v1/webhooks/${endpoint.id}`, { url: 'https://dns-down.example/hooks' })).statusCode).toBe(503);
    expect((await api.get(`/v1/webhooks/${endpoint.id}`)).json().url).toBe('https://public.example/hooks');
  });

  it('refuses an internal URL on update too', async () => {
    const endpoint = await api.createEndpoint({ url: 'https://public.example/hooks' });
    const response = await api.patch(`/v1/webhooks/${endpoint.id}`, { url: 'http://intranet.example/hooks' });
    expect(response.statusCode).toBe(422);
    expect(response.json().errors[0].path).toBe('body.url');
    expect((await api.get(`/v1/webhooks/${endpoint.id}`)).json().url).toBe('https://public.example/hooks');
  });

  it('an allowed host connects to the address it resolved to, keeping its name in the Host header', async () => {
    const endpoint = await api.createEndpoint({ url: `http://hooks.allowed.example:${receiver.port}/hooks`, types: ['statement.recorded'], countries: ['CA'] });
    await api.record(statement('ca-no-condition', { country: 'CA', stance: 'permits' }));
    await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(1);
    expect(receiver.received[0].headers.host).toBe(`hooks.allowed.example:${receiver.port}`);
    verify(endpoint.secret, receiver.received[0]);
  });

  it('a host that resolves elsewhere at delivery time (DNS rebinding) is checked again and not called', async () => {
    flipTo = PUBLIC;
    const endpoint = await api.createEndpoint({ url: `http://flip.example:${receiver.port}/hooks`, types: ['statement.recorded'], countries: ['BE'] });
    flipTo = '127.0.0.1';
    const before = receiver.received.length;
    await api.record(statement('be-f16', { country: 'BE', stance: 'prohibits' }));
    const attempts = async () => (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`)).json().items[0]?.attempts ?? [];
    await expect.poll(async () => (await attempts()).length, { timeout: 10_000 }).toBe(1);
    expect((await attempts())[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/127\.0\.0\.1, a loopback address/) });
    expect(receiver.received.length).toBe(before);
  });
});
