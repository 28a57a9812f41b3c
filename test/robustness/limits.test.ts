// Limits that keep one client from taking the service from the others, and
// the headers that keep a browser safe: rate limits per client address and
// per API key (429 with Retry-After), the body limit, request timeouts on a
// real socket, helmet's security headers with the page and /docs still
// working, and a cap on the page size of every list.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { BODY_LIMIT_BYTES } from '../../src/http/app.js';
import { MAX_PAGE_SIZE } from '../../src/http/limits.js';
import { sendRaw } from '../helpers/raw-http.js';
import { ADMIN_KEY, admin, kirby, startTestService, writer, type TestService } from '../helpers/service.js';
import { operationsOf } from './bad-requests.js';

const services: TestService[] = [];
afterAll(async () => {
  for (const service of services) await service.stop();
});
async function serviceWith(env: Record<string, string> = {}) {
  const service = await startTestService({ env });
  services.push(service);
  return service;
}

function expectTooMany(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  expect(response.statusCode).toBe(429);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const retryAfter = Number(response.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  expect(response.json()).toMatchObject({ status: 429, title: 'Too Many Requests' });
}

describe('rate limits', () => {
  it('the defaults are generous enough that tests and benchmarks are not throttled, and every limit is configurable', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ RATE_LIMIT_WINDOW_MS: 60_000, RATE_LIMIT_PER_ADDRESS: 600_000, RATE_LIMIT_PER_KEY: 300_000, REQUEST_TIMEOUT_MS: 30_000 });
    expect(loadConfig({ RATE_LIMIT_PER_ADDRESS: '10', RATE_LIMIT_PER_KEY: '0' })).toMatchObject({ RATE_LIMIT_PER_ADDRESS: 10, RATE_LIMIT_PER_KEY: 0 });
    expect(() => loadConfig({ RATE_LIMIT_PER_ADDRESS: 'lots' })).toThrow(/RATE_LIMIT_PER_ADDRESS/);
  });

  it('per client address: past the limit a 429 problem with Retry-After; another address is still served, and an IPv6 /64 counts as one', async () => {
    const service = await serviceWith({ RATE_LIMIT_PER_ADDRESS: '5', RATE_LIMIT_PER_KEY: '0' });
    const from = (remoteAddress: string) => service.app.inject({ url: '/v1/countries', remoteAddress });
    for (let i = 0; i < 5; i++) expect((await from('10.0.0.1')).statusCode).toBe(200);
    expectTooMany(await from('10.0.0.1'));
    expect((await from('10.0.0.2')).statusCode).toBe(200);

    for (let i = 0; i < 5; i++) expect((await from(`2001:db8:1:2::${i + 1}`)).statusCode).toBe(200);
    expectTooMany(await from('2001:db8:1:2::ff'));
    expect((await from('2001:db8:1:3::1')).statusCode).toBe(200);
  });

  it('behind a proxy TRUST_PROXY names, per client address as X-Forwarded-For gives it; anyone else is counted by their own address, whatever they claim', async () => {
    const service = await serviceWith({ RATE_LIMIT_PER_ADDRESS: '3', RATE_LIMIT_PER_KEY: '0', TRUST_PROXY: '10.7.0.0/24' });
    const from = (remoteAddress: string, forwardedFor?: string) =>
      service.app.inject({ url: '/v1/countries', remoteAddress, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });
    // Two clients through the same proxy, each with a limit of its own.
    for (let i = 0; i < 3; i++) expect((await from('10.7.0.5', '198.51.100.1')).statusCode).toBe(200);
    expectTooMany(await from('10.7.0.5', '198.51.100.1'));
    expect((await from('10.7.0.5', '198.51.100.2')).statusCode).toBe(200);
    expect((await from('10.7.0.6', '198.51.100.3')).statusCode).toBe(200);
    // A client outside the trusted range who sends the header is still itself: a new name each time does not help.
    for (let i = 0; i < 3; i++) expect((await from('203.0.113.9', `198.51.100.${10 + i}`)).statusCode).toBe(200);
    expectTooMany(await from('203.0.113.9', '198.51.100.99'));
  });

  it('TRUST_PROXY takes true, false, a hop count, or addresses and ranges, and names what it refuses', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, 172.16.0.0/12,loopback,2001:db8::/32' }).TRUST_PROXY).toEqual(['10.0.0.1', '172.16.0.0/12', 'loopback', '2001:db8::/32']);
    for (const bad of ['haproxy', '10.0.0.0/33', '10.0.0.1/8/1', '2001:db8::/129']) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY: .*is not true, false, a hop count/);
    }
  });

  it('per API key, from any address: past the limit a 429; another key is still served; a wrong key is refused, not counted against the real one', async () => {
    const service = await serviceWith({ RATE_LIMIT_PER_ADDRESS: '0', RATE_LIMIT_PER_KEY: '3' });
    const post = (headers: Record<string, string>, remoteAddress: string) =>
      service.app.inject({ method: 'POST', url: '/v1/statements', headers, payload: kirby, remoteAddress });
    for (const wrong of ['Bearer writer-secret-0123456788', 'Bearer nope']) expect((await post({ authorization: wrong }, '10.0.0.9')).statusCode).toBe(401);
    for (let i = 0; i < 3; i++) expect((await post(writer, `10.0.1.${i}`)).statusCode).toBe(201);
    expectTooMany(await post(writer, '10.0.2.1'));
    expect((await post(admin, '10.0.2.1')).statusCode).toBe(201);
    // Nothing of the refused request was written.
    expect((await service.app.inject('/v1/statements?limit=500')).json().items).toHaveLength(4);
  });
});

describe('size and time', () => {
  it(`a body past ${BODY_LIMIT_BYTES / 1024 / 1024} MB is refused with 413 before it is parsed`, async () => {
    const service = await serviceWith();
    const body = (size: number) => `{"notes":"${'x'.repeat(size - 12)}"}`;
    const over = await service.app.inject({ method: 'POST', url: '/v1/statements', headers: { ...writer, 'content-type': 'application/json' }, payload: body(BODY_LIMIT_BYTES + 1) });
    expect(over.statusCode).toBe(413);
    expect(over.headers['content-type']).toMatch(/^application\/problem\+json/);
    const under = await service.app.inject({ method: 'POST', url: '/v1/statements', headers: { ...writer, 'content-type': 'application/json' }, payload: body(BODY_LIMIT_BYTES - 1) });
    expect(under.statusCode).toBe(400); // read, parsed and refused by the schema
  });

  it('a client that sends its request too slowly is cut off with 408: headers that never end, or a body that stalls', async () => {
    const service = await serviceWith({ REQUEST_TIMEOUT_MS: '500' });
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = new URL(address);
    const slowClient = (first: string) =>
      new Promise<{ answer: string; closedAfterMs: number }>((resolve, reject) => {
        const started = Date.now();
        let answer = '';
        const socket = connect(Number(port), '127.0.0.1', () => socket.write(first));
        socket.on('data', (chunk) => (answer += chunk));
        socket.on('error', reject);
        socket.on('close', () => resolve({ answer, closedAfterMs: Date.now() - started }));
      });
    const [headers, body] = await Promise.all([
      slowClient('GET /v1/countries HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '),
      slowClient(`POST /v1/statements HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"country":`),
    ]);
    for (const { answer } of [headers, body]) {
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(/\r\ncontent-type: application\/problem\+json\r\n/);
    }
  });

  it('a client stalled in the middle of its request does not hold up a shutdown: its connection is cut once the request timeout has passed', async () => {
    const service = await serviceWith({ REQUEST_TIMEOUT_MS: '500', CONNECTION_TIMEOUT_MS: '600000' });
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = new URL(address);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/statements HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"country":`);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const started = Date.now();
    const outcome = await Promise.race([service.close().then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 5_000, 'still closing'))]);
    socket.destroy();
    expect(outcome).toBe('closed');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a request the HTTP parser refuses before any route sees it gets a problem document too, and the service goes on answering', async () => {
    const service = await serviceWith();
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const refused = [
      // A URL past node's 16 KB limit on the request line and headers (a long query, a huge cookie).
      { status: 431, title: 'Request Header Fields Too Large', request: `GET /v1/statements?cursor=${'A'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n` },
      // A byte HTTP does not allow in a path (a client that sent a code unencoded).
      { status: 400, title: 'Bad Request', request: Buffer.concat([Buffer.from('GET /v1/countries/'), Buffer.from([0xdc, 0x53]), Buffer.from('/position HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')]) },
      { status: 400, title: 'Bad Request', request: 'GET /v1/countries HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n' },
      // An expectation other than 100-continue, which node answers below any route.
      { status: 417, title: 'Expectation Failed', request: 'GET /v1/countries HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: bogus\r\n\r\n' },
    ];
    for (const { status, title, request } of refused) {
      const answer = await sendRaw(address, request);
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(head).toMatch(/\r\ncontent-type: application\/problem\+json\r\n/);
      expect(head).toMatch(/\r\nx-content-type-options: nosniff\r\n/);
      expect(JSON.parse(body)).toMatchObject({ type: expect.stringMatching(/^https:\/\//), title, status, detail: expect.any(String) });
    }
    expect((await fetch(`${address}/health/live`)).status).toBe(200);
  });
});

describe('security headers', () => {
  it("every API answer carries helmet's API set, on 404s and 429s too: a policy that allows nothing and no framing, nosniff, DENY; none of the document-only headers", async () => {
    const service = await serviceWith({ RATE_LIMIT_PER_ADDRESS: '1', RATE_LIMIT_PER_KEY: '0' });
    const answers = [
      await service.app.inject({ url: '/v1/countries', remoteAddress: '10.1.0.1' }),
      await service.app.inject({ url: '/v1/countries', remoteAddress: '10.1.0.1' }),
      await service.app.inject({ url: '/v1/nothing-here', remoteAddress: '10.1.0.2' }),
      await service.app.inject({ url: '/health/live', remoteAddress: '10.1.0.3' }),
      await service.app.inject({ url: '/openapi.json', remoteAddress: '10.1.0.4' }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 429, 404, 200, 200]);
    for (const { headers } of answers) {
      expect(headers).toMatchObject({
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
      });
      // Over plain HTTP a host must not send HSTS (RFC 6797, 7.2); the next test sends it over https.
      expect(headers['strict-transport-security']).toBeUndefined();
      // Headers that act only on HTML documents are not sent with JSON (OWASP REST Security Cheat Sheet).
      for (const documentOnly of ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-xss-protection', 'x-dns-prefetch-control', 'x-download-options']) {
        expect(headers[documentOnly]).toBeUndefined();
      }
      expect(headers['x-powered-by']).toBeUndefined();
    }
  });

  it('HSTS is sent over https only: when a proxy that TRUST_PROXY believes says so in X-Forwarded-Proto, never on the word of anyone else', async () => {
    const behindProxy = await serviceWith({ TRUST_PROXY: '10.8.0.1' });
    const via = (remoteAddress: string, proto?: string) =>
      behindProxy.app.inject({ url: '/v1/countries', remoteAddress, headers: proto ? { 'x-forwarded-proto': proto } : {} });
    expect((await via('10.8.0.1', 'https')).headers['strict-transport-security']).toMatch(/^max-age=\d+; includeSubDomains$/);
    expect((await via('10.8.0.1', 'http')).headers['strict-transport-security']).toBeUndefined();
    expect((await via('10.8.0.1')).headers['strict-transport-security']).toBeUndefined();
    // A client that is not the proxy cannot claim https.
    expect((await via('10.8.0.2', 'https')).headers['strict-transport-security']).toBeUndefined();
    const direct = await serviceWith();
    const claimed = await direct.app.inject({ url: '/v1/countries', headers: { 'x-forwarded-proto': 'https' } });
    expect(claimed.headers['strict-transport-security']).toBeUndefined();
  });

  it("the timeline page keeps its own stricter policy, and /docs is served under helmet's document set", async () => {
    const service = await serviceWith({ TRUST_PROXY: 'loopback' });
    const page = await service.app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'; script-src 'self'/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const docs = await service.app.inject({ url: '/docs/', headers: { 'x-forwarded-proto': 'https' } });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger-initializer.js');
    expect(docs.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'strict-transport-security': expect.stringContaining('max-age='),
    });
    expect(docs.headers['content-security-policy']).toContain("script-src 'self'");
    expect(docs.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(docs.headers['content-security-policy']).toContain("object-src 'none'");
    // The service speaks plain HTTP unless a proxy adds TLS: nothing may be upgraded behind its back.
    expect(docs.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect((await service.app.inject('/docs/static/swagger-initializer.js')).statusCode).toBe(200);
  });

  it('/docs renders in Chromium under that policy with no violation and no script error', async (ctx: TestContext) => {
    if (!existsSync('/usr/bin/chromium')) ctx.skip('Chromium is not installed at /usr/bin/chromium (apt-get install chromium); /docs was checked above without a browser');
    const service = await serviceWith();
    const base = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
      await page.goto(`${base}/docs`);
      await expect.poll(async () => page.locator('.swagger-ui .info .title').textContent().catch(() => null), { timeout: 15_000 }).toContain('Policy-state service');
      expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(20);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('page sizes', () => {
  it(`every list in /openapi.json takes a limit capped at ${MAX_PAGE_SIZE} and refuses more with a 400 naming the parameter`, async () => {
    const service = await serviceWith({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
    const doc = (await service.app.inject('/openapi.json')).json();
    const lists = operationsOf(doc).filter((op) => {
      const schema = doc.paths[op.path][op.method.toLowerCase()].responses?.['200']?.content?.['application/json']?.schema;
      return op.method === 'GET' && schema?.properties?.items?.type === 'array';
    });
    expect(lists.map((op) => op.path).sort()).toEqual(['/v1/changes', '/v1/events', '/v1/statements', '/v1/webhooks', '/v1/webhooks/{id}/deliveries']);
    for (const op of lists) {
      const limit = op.parameters.find((p) => p.in === 'query' && p.name === 'limit');
      expect(limit?.schema, `${op.path} takes a limit`).toMatchObject({ maximum: MAX_PAGE_SIZE });
      expect((limit!.schema as { default?: number }).default).toBeLessThanOrEqual(MAX_PAGE_SIZE);
    }
    const endpoint = await service.app.inject({ method: 'POST', url: '/v1/webhooks', headers: admin, payload: { url: 'http://127.0.0.1:9/hooks' } });
    expect(endpoint.statusCode).toBe(201);
    for (const op of lists) {
      const url = op.path.replace('{id}', endpoint.json().id);
      const refused = await service.app.inject({ url: `${url}?limit=${MAX_PAGE_SIZE + 1}`, headers: admin });
      expect(refused.statusCode, url).toBe(400);
      expect(refused.json().errors, url).toEqual([{ path: 'querystring.limit', message: expect.any(String) }]);
      expect((await service.app.inject({ url: `${url}?limit=${MAX_PAGE_SIZE}`, headers: admin })).statusCode, url).toBe(200);
    }
    // The one list without paging is bounded by the world: one row per ISO 3166-1 country at most.
    const countries = (await service.app.inject('/v1/countries')).json().countries;
    expect(countries.length).toBeLessThanOrEqual(249);
  });
});
