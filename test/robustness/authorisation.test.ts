// No one is let in without the right key. Every write and admin operation is
// read from /openapi.json (which states the role each needs, written from the
// check itself) and each refuses no key, a wrong key, a malformed header and
// a key of too low a role; keys are compared in constant time; and no secret,
// right or wrong, ever reaches a log line, even at trace level.
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findKey } from '../../src/auth/api-keys.js';
import { ADMIN_KEY, WRITER_KEY, admin, kirby, startTestService, writer, type TestService } from '../helpers/service.js';
import { operationsOf, plausible, type Operation } from './bad-requests.js';

// A pass-through spy, to count the comparisons findKey makes.
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});
const { timingSafeEqual } = await import('node:crypto');

const logLines: string[] = [];
let service: TestService;
let operations: Operation[];
beforeAll(async () => {
  const sink = new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) });
  service = await startTestService({ logger: pino({ level: 'trace' }, sink), env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } });
  operations = operationsOf((await service.app.inject('/openapi.json')).json());
});
afterAll(async () => service?.stop());

/** A wrong key of the same length and alphabet as a real one, and other shapes of a wrong Authorization header. */
const WRONG_KEYS = [ADMIN_KEY.replace(/.$/, (c) => (c === 'x' ? 'y' : 'x')), 'writer-secret-0123456788', 'ps_admin_' + 'A'.repeat(32)];
const refusals = (op: Operation): Array<{ what: string; headers: Record<string, string>; status: number; challenge?: string }> => [
  { what: 'no key', headers: {}, status: 401 },
  // RFC 6750 3.1: a bearer token presented and not known says so in the challenge.
  ...WRONG_KEYS.map((key) => ({ what: `wrong key ${key.slice(0, 6)}...`, headers: { authorization: `Bearer ${key}` }, status: 401, challenge: 'Bearer error="invalid_token"' })),
  { what: 'Basic credentials', headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` }, status: 401 },
  { what: 'a key without the Bearer scheme', headers: { authorization: ADMIN_KEY }, status: 401 },
  { what: 'two keys', headers: { authorization: `Bearer ${WRITER_KEY} ${ADMIN_KEY}` }, status: 401 },
  { what: 'the key in another header', headers: { 'x-api-key': ADMIN_KEY }, status: 401 },
  ...(op.roles?.includes('admin') ? [{ what: 'a writer key on an admin route', headers: writer, status: 403 }] : []),
];

/** A request to the operation with plausible parameters and body, so only the key decides. */
function requestFor(op: Operation, headers: Record<string, string>) {
  const sample = <T>(arbitrary: fc.Arbitrary<T>) => fc.sample(arbitrary, { numRuns: 1, seed: 7 })[0];
  const url = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(sample(plausible(op.parameters.find((p) => p.name === name)!.schema)))));
  const body = op.body ? sample(plausible(op.body)) : op.method === 'GET' ? undefined : {};
  return { method: op.method as 'GET', url, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) };
}

describe('authorisation of every write and admin route', () => {
  it('the OpenAPI document marks every write and admin route with the role it needs, and only reads are public', () => {
    const writes = operations.filter((op) => op.method !== 'GET');
    expect(writes.length).toBeGreaterThanOrEqual(11);
    for (const op of writes) expect(op.roles, `${op.method} ${op.path}`).toEqual([expect.stringMatching(/^(writer|admin)$/)]);
    for (const op of operations.filter((o) => o.roles === undefined)) expect(op.method, op.path).toBe('GET');
    const admins = operations.filter((op) => op.roles?.includes('admin')).map((op) => `${op.method} ${op.path}`);
    expect(admins).toEqual(expect.arrayContaining(['POST /v1/admin/replay', 'POST /v1/webhooks', 'GET /v1/webhooks', 'GET /v1/webhooks/{id}/deliveries']));
    expect(operations.filter((op) => op.roles?.includes('writer')).map((op) => `${op.method} ${op.path}`).sort()).toEqual(
      ['POST /v1/statements', 'POST /v1/statements/{id}/retraction', 'POST /v1/statements/{id}/sources'],
    );
  });

  it('each refuses no key, wrong keys, malformed headers and (on admin routes) a writer key, with problem documents', async () => {
    let checked = 0;
    const secured = operations.filter((o) => o.roles !== undefined);
    expect(secured.length).toBeGreaterThanOrEqual(14);
    for (const op of secured) {
      for (const { what, headers, status, challenge = 'Bearer' } of refusals(op)) {
        const response = await service.app.inject(requestFor(op, headers));
        const where = `${op.method} ${op.path} with ${what}: ${response.statusCode} ${response.body.slice(0, 200)}`;
        expect(response.statusCode, where).toBe(status);
        expect(response.headers['content-type'], where).toMatch(/^application\/problem\+json/);
        if (status === 401) expect(response.headers['www-authenticate'], where).toBe(challenge);
        for (const secret of [ADMIN_KEY, WRITER_KEY, ...WRONG_KEYS]) expect(response.body, where).not.toContain(secret);
        checked++;
      }
      // And the key of the role it names gets past the check (whatever the operation then answers).
      const allowed = await service.app.inject(requestFor(op, op.roles!.includes('admin') ? admin : writer));
      expect([401, 403], `${op.method} ${op.path} with its own role: ${allowed.body.slice(0, 200)}`).not.toContain(allowed.statusCode);
    }
    expect(checked).toBe(secured.reduce((n, op) => n + refusals(op).length, 0));
  });

  it('a request without a valid key is refused before its body is read: a bad or oversized body still gets 401, not a 400 about the schema', async () => {
    const bad = await service.app.inject({ method: 'POST', url: '/v1/statements', headers: { 'content-type': 'application/json' }, payload: '{"country": 42' });
    expect(bad.statusCode).toBe(401);
    const huge = await service.app.inject({ method: 'POST', url: '/v1/webhooks', headers: { ...writer, 'content-type': 'application/json' }, payload: `{"url":"${'x'.repeat(2 * 1024 * 1024)}"}` });
    expect(huge.statusCode).toBe(403);
  });

  it('keys are compared in constant time: every configured key is compared, as equal-length digests, wherever the match is', () => {
    const keys = [
      { name: 'a', secret: 'first-secret-0123456789', role: 'writer' as const },
      { name: 'b', secret: 'second-secret-0123456789', role: 'admin' as const },
      { name: 'c', secret: 'third-secret-0123456789-and-longer', role: 'writer' as const },
    ];
    const compare = vi.mocked(timingSafeEqual);
    for (const presented of ['first-secret-0123456789', 'third-secret-0123456789-and-longer', 'f', 'not-any-key-at-all-0123456789', '']) {
      compare.mockClear();
      const found = findKey(keys, presented);
      expect(found?.secret).toBe(keys.find((k) => k.secret === presented)?.secret);
      expect(compare).toHaveBeenCalledTimes(keys.length);
      for (const [a, b] of compare.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    }
  });

  it('no secret ever reaches a log line: not the keys, not wrong keys, not a webhook signing secret, at trace level', async () => {
    // A write and an admin action with the right keys, refusals with the wrong ones, and webhook secrets shown once.
    expect((await service.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: kirby })).statusCode).toBe(201);
    const created = await service.app.inject({ method: 'POST', url: '/v1/webhooks', headers: admin, payload: { url: 'http://127.0.0.1:9/hooks' } });
    expect(created.statusCode).toBe(201);
    const rotated = await service.app.inject({ method: 'POST', url: `/v1/webhooks/${created.json().id}/rotate-secret`, headers: admin });
    expect(rotated.statusCode).toBe(200);
    for (const key of WRONG_KEYS) await service.app.inject({ method: 'POST', url: '/v1/admin/replay', headers: { authorization: `Bearer ${key}` } });

    const secrets = [ADMIN_KEY, WRITER_KEY, ...WRONG_KEYS, created.json().secret as string, rotated.json().secret as string];
    expect(secrets.slice(-2)).toEqual([expect.stringMatching(/^whsec_/), expect.stringMatching(/^whsec_/)]);
    expect(logLines.length).toBeGreaterThan(20);
    const log = logLines.join('');
    for (const secret of secrets) {
      expect(log).not.toContain(secret);
      // Nor its payload without the prefix, nor in base64.
      expect(log).not.toContain(secret.replace(/^whsec_/, ''));
      expect(log).not.toContain(Buffer.from(secret).toString('base64'));
    }
    // The key's name is what the log says, so a reader can still tell who wrote.
    expect(log).toContain('"apiKey":"writer"');
  });
});
