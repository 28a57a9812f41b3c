// Input the schemas used to let through or answer badly, each through the
// real app: every answer to bad input is a 4xx problem document that names
// what is wrong in its `errors` list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, kirby, startTestService, writer, type TestService } from '../helpers/service.js';
import { operationsOf } from './bad-requests.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } });
});
afterAll(async () => service?.stop());

const get = (url: string, headers: Record<string, string> = {}) => service.app.inject({ method: 'GET', url, headers });
const post = (url: string, payload: unknown, headers: Record<string, string> = writer) =>
  service.app.inject({ method: 'POST', url, payload: payload as object, headers });

function expectRefused(response: { statusCode: number; headers: Record<string, unknown>; json(): { errors?: unknown } }, status: number, path: string, where = '') {
  expect(response.statusCode, where).toBe(status);
  expect(response.headers['content-type'], where).toMatch(/^application\/problem\+json/);
  expect(response.json().errors, where).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
}

describe('integer query parameters take plain decimal digits only', () => {
  const NOT_DIGITS = ['', '%20', '0x1e', '1e1', '+1', '1.0', '-0', '%2012', '12%20', '1_000', '0b1', '１２', '1%2C000', '9'.repeat(16)];

  it('an empty, blank, hexadecimal or exponent position is refused, not read as a number', async () => {
    expect((await post('/v1/statements', kirby)).statusCode).toBe(201);
    for (const value of NOT_DIGITS) {
      expectRefused(await get(`/v1/countries/US/position?at=2024-06-05&position=${value}`), 400, 'querystring.position', `position=${value}`);
      expectRefused(await get(`/v1/audit/fingerprint?position=${value}`), 400, 'querystring.position', `fingerprint position=${value}`);
      expectRefused(await get(`/v1/changes?after=${value}`), 400, 'querystring.after', `after=${value}`);
    }
    // Plain digits still work, leading zeros included.
    expect((await get('/v1/countries/US/position?at=2024-06-05&position=1')).json().status).toBe('prohibited');
    expect((await get('/v1/countries/US/position?at=2024-06-05&position=0')).json().status).toBe('unknown');
    expect((await get('/v1/audit/fingerprint?position=01')).json().position).toBe(1);
    expect((await get('/v1/changes?after=0&limit=2')).statusCode).toBe(200);
  });

  it('so does every integer query parameter in /openapi.json', async () => {
    const endpoint = await post('/v1/webhooks', { url: 'http://127.0.0.1:9/hooks' }, admin);
    expect(endpoint.statusCode).toBe(201);
    const doc = (await get('/openapi.json')).json();
    const checked: string[] = [];
    for (const op of operationsOf(doc)) {
      if (op.method !== 'GET') continue;
      for (const p of op.parameters.filter((p) => p.in === 'query' && p.schema.type === 'integer')) {
        const url = op.path.replace('{id}', endpoint.json().id).replace('{code}', 'US');
        for (const value of NOT_DIGITS) expectRefused(await get(`${url}?${p.name}=${value}`, admin), 400, `querystring.${p.name}`, `${url}?${p.name}=${value}`);
        // Given twice, it is a list, not a number.
        expectRefused(await get(`${url}?${p.name}=1&${p.name}=2`, admin), 400, `querystring.${p.name}`, `${url} twice`);
        checked.push(`${op.path}?${p.name}`);
      }
    }
    // The cursors are text, but of digits only as well.
    for (const url of ['/v1/statements', '/v1/webhooks', `/v1/webhooks/${endpoint.json().id}/deliveries`]) {
      for (const value of NOT_DIGITS) expectRefused(await get(`${url}?cursor=${value}`, admin), 400, 'querystring.cursor', `${url}?cursor=${value}`);
    }
    expect(checked.sort()).toEqual([
      '/v1/audit/fingerprint?position',
      '/v1/changes/stream?after',
      '/v1/changes?after',
      '/v1/changes?limit',
      '/v1/countries/{code}/position?position',
      '/v1/events?after',
      '/v1/events?limit',
      '/v1/statements?limit',
      '/v1/webhooks/{id}/deliveries?limit',
      '/v1/webhooks?limit',
    ]);
  });
});
