// Cross-origin reads from browsers, through the real app: off unless CORS_ORIGINS names
// who may read; then reads answer those origins, and writes stay same-origin.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { kirby, startTestService, writer, type TestService } from '../helpers/service.js';

const running: TestService[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) await service.stop();
});
async function serviceWith(env: Record<string, string> = {}): Promise<TestService> {
  const service = await startTestService({ env });
  running.push(service);
  return service;
}

const position = '/v1/countries/US/position?at=2024-06-05';

describe('cross-origin reads (CORS_ORIGINS)', () => {
  it('by default, a page on another site is given nothing to read an answer with', async () => {
    const service = await serviceWith();
    const answer = await service.app.inject({ url: position, headers: { origin: 'https://news.example' } });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers the origins it names, with the headers a page may read; not others; and varies by Origin for caches', async () => {
    const service = await serviceWith({ CORS_ORIGINS: 'https://news.example, http://localhost:8080' });
    for (const origin of ['https://news.example', 'http://localhost:8080']) {
      const answer = await service.app.inject({ url: position, headers: { origin } });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBe(origin);
      expect(String(answer.headers.vary)).toMatch(/\bOrigin\b/);
      expect(String(answer.headers['access-control-expose-headers'])).toContain('ETag');
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    }
    // An explanation varies by Accept as well, and keeps Origin beside it.
    const explained = await service.app.inject({ url: '/v1/countries/US/explain', headers: { origin: 'https://news.example', accept: 'text/markdown' } });
    expect(String(explained.headers.vary).split(/,\s*/).sort()).toEqual(['Accept', 'Origin']);
    const elsewhere = await service.app.inject({ url: position, headers: { origin: 'https://elsewhere.example' } });
    expect(elsewhere.statusCode).toBe(200);
    expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();
    // A refusal is readable by the page too, so it can show why.
    const refused = await service.app.inject({ url: '/v1/countries/XX/position', headers: { origin: 'https://news.example' } });
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['access-control-allow-origin']).toBe('https://news.example');
  });

  it('a preflight for a write is not granted it: writes stay with same-origin pages and clients outside browsers', async () => {
    const service = await serviceWith({ CORS_ORIGINS: '*' });
    const preflight = await service.app.inject({
      method: 'OPTIONS',
      url: '/v1/statements',
      headers: { origin: 'https://news.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.statusCode).toBeLessThan(300);
    expect(String(preflight.headers['access-control-allow-methods']).split(',').map((m) => m.trim())).toEqual(['GET', 'HEAD']);
    // Reads from any origin with *.
    const read = await service.app.inject({ url: position, headers: { origin: 'https://any.example' } });
    expect(read.headers['access-control-allow-origin']).toBe('*');
    // The write itself, from a client that is not a browser, works as before.
    expect((await service.app.inject({ method: 'POST', url: '/v1/statements', payload: kirby, headers: writer })).statusCode).toBe(201);
  });

  it('a request that is not cross-origin (no Origin, or an OPTIONS that is no preflight) is answered as with CORS off', async () => {
    const off = await serviceWith();
    const on = await serviceWith({ CORS_ORIGINS: 'https://news.example' });
    const requests = [
      { method: 'GET', url: '/nowhere' },
      { method: 'PUT', url: '/v1/statements' },
      { method: 'OPTIONS', url: '/v1/statements' },
      { method: 'OPTIONS', url: '/nowhere' },
      { method: 'OPTIONS', url: '/v1/countries', headers: { origin: 'https://news.example' } },
      { method: 'GET', url: `${position}&knownAt=2024-06-06` },
    ] as const;
    for (const request of requests) {
      const [before, after] = await Promise.all([off, on].map((service) => service.app.inject({ ...request, headers: { ...('headers' in request ? request.headers : {}) } })));
      const what = `${request.method} ${request.url}`;
      expect(after.statusCode, what).toBe(before.statusCode);
      expect(after.headers['content-type'], what).toBe(before.headers['content-type']);
      expect(after.headers.allow, what).toBe(before.headers.allow);
      expect(after.body, what).toBe(before.body);
      // Caches keep answers with and without Origin apart.
      expect(String(after.headers.vary), what).toMatch(/\bOrigin\b/);
    }
  });

  it('a page can read a 429 (CORS comes before the rate limits)', async () => {
    const service = await serviceWith({ CORS_ORIGINS: 'https://news.example', RATE_LIMIT_PER_ADDRESS: '1', RATE_LIMIT_PER_KEY: '0' });
    const read = () => service.app.inject({ url: position, headers: { origin: 'https://news.example' } });
    expect((await read()).statusCode).toBe(200);
    const limited = await read();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['access-control-allow-origin']).toBe('https://news.example');
    expect(String(limited.headers['access-control-expose-headers'])).toContain('Retry-After');
  });

  it('takes * or origins, and names what it refuses', () => {
    expect(loadConfig({}).CORS_ORIGINS).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: '*' }).CORS_ORIGINS).toBe('*');
    expect(loadConfig({ CORS_ORIGINS: 'https://news.example,http://localhost:8080' }).CORS_ORIGINS).toEqual(['https://news.example', 'http://localhost:8080']);
    for (const bad of ['https://news.example/', 'news.example', 'https://news.example/page', 'ftp://news.example', '*.example']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS: .*is not an origin/);
    }
  });
});
