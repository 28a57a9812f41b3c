// The access log as an operator reads it: one line per request, with its id,
// method, route pattern, status and duration, at info whatever the status (a
// 4xx is the client's mistake); a 5xx has one more line, the error with its
// stack; no line carries a key or a request body.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokens } from '../../src/composition.js';
import type { ReadModel } from '../../src/read-model/read-model.js';
import { sendRaw } from '../helpers/raw-http.js';
import { WRITER_KEY, kirby, startTestService, writer, type TestService } from '../helpers/service.js';

type Line = Record<string, unknown> & { level: number; msg: string; reqId?: string };

const raw: string[] = [];
let service: TestService;
beforeAll(async () => {
  const sink = new Writable({ write: (chunk, _encoding, done) => (raw.push(String(chunk)), done()) });
  service = await startTestService({ logger: pino({ level: 'info' }, sink) });
});
afterAll(async () => service?.stop());

const linesOf = (reqId: string): Line[] => raw.map((l) => JSON.parse(l) as Line).filter((l) => l.reqId === reqId);

describe('the request log', () => {
  const QUOTE = 'a quote that is request body, not log material';

  it.each([
    { id: 'read-200', method: 'GET', url: '/v1/countries/US/position?at=2024-06-05', route: '/v1/countries/:code/position', status: 200 },
    { id: 'unknown-404', method: 'GET', url: '/no/such/page/123?x=1', route: undefined, status: 404 },
    { id: 'write-201', method: 'POST', url: '/v1/statements', route: '/v1/statements', status: 201, headers: writer, payload: { ...kirby, sources: [{ ...kirby.sources[0], quote: QUOTE }] } },
    { id: 'nokey-401', method: 'POST', url: '/v1/statements', route: '/v1/statements', status: 401, headers: { authorization: 'Bearer not-a-key-0123456789' }, payload: kirby },
    { id: 'bad-422', method: 'POST', url: '/v1/statements', route: '/v1/statements', status: 400, headers: writer, payload: { ...kirby, country: 'XX', notes: QUOTE } },
  ])('$id: one info line with the request id, method, route, URL, status and duration', async (c) => {
    const response = await service.app.inject({ method: c.method as 'GET', url: c.url, headers: { 'x-request-id': c.id, ...c.headers }, payload: c.payload });
    expect(response.statusCode).toBe(c.status);

    const lines = linesOf(c.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'request completed', method: c.method, url: c.url, statusCode: c.status, durationMs: expect.any(Number) });
    expect(lines[0].route).toBe(c.route);
  });

  it('probes and scrapes answered are at debug, so the info log holds what people asked; a probe refused is at info', async () => {
    for (const url of ['/health/live', '/health/ready', '/metrics']) {
      const id = `probe${url.replaceAll('/', '-')}`;
      expect((await service.app.inject({ method: 'GET', url, headers: { 'x-request-id': id } })).statusCode).toBe(200);
      expect(linesOf(id), url).toEqual([]);
    }
    const refused = await service.app.inject({ method: 'GET', url: '/health/ready?verbose=1', headers: { 'x-request-id': 'probe-refused' } });
    expect(refused.statusCode).toBe(400);
    expect(linesOf('probe-refused')).toEqual([expect.objectContaining({ level: 30, statusCode: 400, route: '/health/ready' })]);
  });

  it("a request node refuses before any route (its parser, an Expect header): one info line with the status and why, no header or body", async () => {
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const send = (request: string) => sendRaw(address, request);
    const before = raw.length;
    const secret = `Bearer ${WRITER_KEY}`;
    expect(await send(`GET /v1/countries?x=${'A'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${secret}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await send(`GET /v1/countries HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${secret}\r\nBad Header: x\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    expect(await send(`GET /v1/countries?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${secret}\r\nExpect: bogus\r\n\r\n`)).toMatch(/^HTTP\/1\.1 417 /);
    const lines = raw.slice(before).map((l) => JSON.parse(l) as Line);
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, msg: 'request completed', statusCode: 431, refusedBy: 'http-parser', code: 'HPE_HEADER_OVERFLOW', remoteAddress: '127.0.0.1' }),
      expect.objectContaining({ level: 30, msg: 'request completed', statusCode: 400, refusedBy: 'http-parser', code: 'HPE_INVALID_HEADER_TOKEN' }),
      expect.objectContaining({ level: 30, msg: 'request completed', statusCode: 417, refusedBy: 'expect-header', method: 'GET', url: '/v1/countries?x=1' }),
    ]);
    expect(raw.slice(before).join('')).not.toContain(WRITER_KEY);
  });

  it('a 5xx: the request line, and the error once, with its stack and the request id', async () => {
    // The read model's database gone from under the service: an error no handler expects.
    service.container.resolve<ReadModel>(Tokens.ReadModel).close();
    const response = await service.app.inject({ method: 'GET', url: '/v1/countries', headers: { 'x-request-id': 'boom-500' } });
    expect(response.statusCode).toBe(500);

    const lines = linesOf('boom-500');
    expect(lines.filter((l) => l.msg === 'request completed')).toEqual([expect.objectContaining({ level: 30, statusCode: 500, route: '/v1/countries' })]);
    const errors = lines.filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect((errors[0].err as { stack: string }).stack).toContain('database connection is not open');
  });

  it('no line carries a key, an Authorization header or a request body', () => {
    const all = raw.join('');
    expect(all).not.toContain(WRITER_KEY);
    expect(all).not.toContain('not-a-key-0123456789');
    expect(all).not.toMatch(/authorization/i);
    expect(all).not.toContain(QUOTE);
  });
});
