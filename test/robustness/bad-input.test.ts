// Input the schemas used to let through or answer badly, each through the
// real app: every answer to bad input is a 4xx problem document that names
// what is wrong in its `errors` list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEvent } from '../../events/registry.js';
import { Tokens } from '../../src/composition.js';
import type { EventStore } from '../../src/store/event-store.js';
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

  it('more digits than any bound allows are refused as too big, not as of the wrong form', async () => {
    const sixteen = '9'.repeat(16);
    expect((await get(`/v1/audit/fingerprint?position=${sixteen}`)).json().errors).toEqual([{ path: 'querystring.position', message: 'must be at most 999999999999999' }]);
    expect((await get(`/v1/events?after=0&limit=${sixteen}`)).json().errors).toEqual([{ path: 'querystring.limit', message: 'must be at most 500' }]);
    expect((await get(`/v1/events?after=${'1'.repeat(400)}`)).json().errors).toEqual([{ path: 'querystring.after', message: 'must be at most 999999999999999' }]);
    // The change feed's after is a position or a cursor: its position too, and with one message.
    for (const after of [sixteen, `${sixteen}@2024-06-01`]) {
      expect((await get(`/v1/changes?after=${after}`)).json().errors, after).toEqual([{ path: 'querystring.after', message: 'must be at most 999999999999999' }]);
    }
    // A day not of the form is not also said not to exist.
    expect((await get('/v1/changes?after=1@2024-6-1')).json().errors).toEqual([{ path: 'querystring.after', message: expect.stringContaining('plain decimal digits') }]);
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
        // Given twice, it is said to be given twice (not to be of the wrong form).
        const twice = await get(`${url}?${p.name}=1&${p.name}=2`, admin);
        expectRefused(twice, 400, `querystring.${p.name}`, `${url} twice`);
        expect(twice.json().errors, `${url} twice`).toEqual([{ path: `querystring.${p.name}`, message: 'is given more than once: give it once' }]);
        checked.push(`${op.path}?${p.name}`);
      }
    }
    // The cursors are text, but of digits only as well.
    for (const url of ['/v1/statements', '/v1/webhooks', `/v1/webhooks/${endpoint.json().id}/deliveries`]) {
      for (const value of NOT_DIGITS) expectRefused(await get(`${url}?cursor=${value}`, admin), 400, 'querystring.cursor', `${url}?cursor=${value}`);
    }
    // The change feed reads after a position or a cursor `<position>@<day>`, and nothing else.
    for (const url of ['/v1/changes', '/v1/changes/stream']) {
      for (const value of [...NOT_DIGITS, '1@', '@2024-06-01', '1@2024-6-1', '1@2024-02-30', '1@2024-06-01T00:00:00Z', '1@2024-06-01@2024-06-02']) {
        expectRefused(await get(`${url}?after=${value}`), 400, 'querystring.after', `${url}?after=${value}`);
      }
      expectRefused(await get(`${url}?after=1&after=2`), 400, 'querystring.after', `${url} twice`);
    }
    expect(checked.sort()).toEqual([
      '/v1/audit/fingerprint?position',
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

describe('If-Match "-1": write only if the country has no statements yet', () => {
  it('the ETag of a country with nothing on record, sent back, lets exactly one first write in', async () => {
    const empty = await get('/v1/countries/AU/position');
    expect(empty.headers.etag).toBe('"-1"');
    const ifMatch = (etag: string) => ({ ...writer, 'if-match': etag });
    const australia = { ...kirby, country: 'AU' };

    const first = await post('/v1/statements', australia, ifMatch(empty.headers.etag as string));
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({ country: 'AU', revision: 0 });
    expect(first.headers.etag).toBe('"0"');

    // Somebody has written now: "-1" is stale, for a new statement and for one on record alike.
    const second = await post('/v1/statements', australia, ifMatch('"-1"'));
    expect(second.statusCode).toBe(409);
    expect(second.headers['content-type']).toMatch(/^application\/problem\+json/);
    const attach = await post(`/v1/statements/${first.json().statementId}/sources`, { source: kirby.sources[0] }, ifMatch('"-1"'));
    expect(attach.statusCode).toBe(409);
    expect((await get('/v1/countries/AU/position')).headers.etag).toBe('"0"');

    // Weak and bare forms of the same; "0" on an empty country is stale too.
    expect((await post('/v1/statements', { ...australia, country: 'NZ' }, ifMatch('W/"-1"'))).statusCode).toBe(201);
    expect((await post('/v1/statements', { ...australia, country: 'FJ' }, ifMatch('-1'))).statusCode).toBe(201);
    expect((await post('/v1/statements', { ...australia, country: 'PG' }, ifMatch('"0"'))).statusCode).toBe(409);
  });

  it('anything else that is not a revision is refused, never read as one', async () => {
    // Not "-2" as 2 (the route used to strip non-digits), nor unbalanced quotes (the old pattern let them through).
    for (const value of ['"-2"', '"--1"', '"-01"', '"1', '1"', '"1-"', '"1.0"', '""', 'W/', '*', '"1", "2"', `"${'9'.repeat(16)}"`]) {
      expectRefused(await post('/v1/statements', { ...kirby, country: 'TO' }, { ...writer, 'if-match': value }), 400, 'headers.if-match', value);
    }
    expect((await get('/v1/countries/TO/position')).headers.etag).toBe('"-1"');
  });
});

describe('a source published in the future', () => {
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

  it('is refused when a statement is recorded, as it is when a source is attached, naming the source', async () => {
    const future = { ...kirby.sources[0], title: 'From the future', publishedAt: '2030-06-01' };
    const recorded = await post('/v1/statements', { ...kirby, country: 'IE', sources: [kirby.sources[0], future] });
    expectRefused(recorded, 422, 'body.sources.1.publishedAt');
    expect((await get('/v1/countries/IE/position')).headers.etag).toBe('"-1"');
    expectRefused(await post('/v1/statements', { ...kirby, country: 'IE', sources: [{ ...future, publishedAt: inDays(1) }] }), 422, 'body.sources.0.publishedAt');
    expectRefused(await post('/v1/statements', { ...kirby, country: 'IE', sources: [{ ...future, publishedAt: inMinutes(10) }] }), 422, 'body.sources.0.publishedAt');

    // The same as attaching one, and as a retraction's source.
    const on = await post('/v1/statements', { ...kirby, country: 'IE' });
    expect(on.statusCode).toBe(201);
    const id = on.json().statementId;
    expectRefused(await post(`/v1/statements/${id}/sources`, { source: future }), 422, 'body.source.publishedAt');
    expectRefused(await post(`/v1/statements/${id}/retraction`, { reason: 'withdrawn', reportedAt: '2024-06-01', source: future }), 422, 'body.source.publishedAt');
  });

  it('within the clock-skew allowance, as for reportedAt, is accepted, as of the moment it is recorded', async () => {
    const soon = { ...kirby.sources[0], publishedAt: inMinutes(2) };
    const recorded = await post('/v1/statements', { ...kirby, country: 'IS', reportedAt: inMinutes(2), sources: [soon] });
    expect(recorded.statusCode).toBe(201);
    // A client's clock ahead of ours cannot make a statement public later than it was recorded: the
    // position as known now counts it at once, as the country list (and its change) already do.
    const statement = (await get(`/v1/statements/${recorded.json().statementId}`)).json();
    expect(Date.parse(statement.reportedAt)).toBeLessThanOrEqual(Date.parse(statement.recordedAt));
    expect(Date.parse(statement.sources[0].publishedAt)).toBeLessThanOrEqual(Date.parse(statement.recordedAt));
    const position = (await get('/v1/countries/IS/position')).json();
    expect(position.status).toBe('prohibited');
    const listed = (await get('/v1/countries')).json().countries.find((c: { code: string }) => c.code === 'IS');
    expect(listed.status).toBe(position.status);

    // So with a source attached, or a retraction, a little ahead.
    const later = { ...kirby.sources[0], title: 'Another report', publishedAt: inMinutes(3) };
    expect((await post(`/v1/statements/${statement.statementId}/sources`, { source: later })).statusCode).toBe(201);
    expect((await get('/v1/countries/IS/position')).json().confidence.sources).toBe(2);
    expect((await post(`/v1/statements/${statement.statementId}/retraction`, { reason: 'misreported', reportedAt: inMinutes(4) })).statusCode).toBe(201);
    expect((await get('/v1/countries/IS/position')).json().status).toBe('unknown');
  });
});

describe('what a client puts in the immutable public log besides its statement', () => {
  type LoggedEvent = { eventId: string; position: number; metadata: Record<string, unknown> };
  const publicLog = async () => {
    const items: LoggedEvent[] = [];
    for (let after = 0; ; ) {
      const page = (await get(`/v1/events?after=${after}&limit=500`)).json();
      if (page.items.length === 0) return items;
      items.push(...page.items);
      after = page.nextAfter;
    }
  };
  const store = () => service.container.resolve<EventStore>(Tokens.EventStore);

  it('keeps an X-Correlation-Id only if it is short and plain; otherwise the request id stands in', async () => {
    const huge = 'c'.repeat(12_000);
    for (const [given, kept] of [
      [huge, undefined],
      ['c'.repeat(129), undefined],
      ['has space', undefined],
      ['tab\there', undefined],
      ['trace-7f1c:span.2_x', 'trace-7f1c:span.2_x'],
      ['c'.repeat(128), 'c'.repeat(128)],
    ] as const) {
      const written = await post('/v1/statements', { ...kirby, country: 'CH' }, { ...writer, 'x-correlation-id': given });
      expect(written.statusCode, given.slice(0, 20)).toBe(201);
      const event = (await store().readAll({ after: written.json().position - 1, limit: 1 }))[0];
      expect(event.metadata.correlationId, given.slice(0, 20)).toBe(kept ?? written.headers['x-request-id']);
    }
    expect(JSON.stringify(await publicLog())).not.toContain('c'.repeat(129));
  });

  it('the public log leaves out the Idempotency-Key and request hash, which the log keeps for retries', async () => {
    const headers = { ...writer, 'idempotency-key': 'newsroom-order-4711-jane.doe' };
    const first = await post('/v1/statements', { ...kirby, country: 'AT' }, headers);
    expect(first.statusCode).toBe(201);
    const logged = (await publicLog()).find((e) => e.position === first.json().position)!;
    expect(Object.keys(logged.metadata).sort()).toEqual(['apiKey', 'causationId', 'correlationId']);
    expect(JSON.stringify(await publicLog())).not.toContain('newsroom-order-4711');

    // Still in the log, so a retry gets the first answer and another body is still refused.
    const stored = await store().findEvent(logged.eventId);
    expect(stored?.metadata).toMatchObject({ idempotencyKey: 'newsroom-order-4711-jane.doe', requestHash: expect.any(String) });
    const retry = await post('/v1/statements', { ...kirby, country: 'AT' }, headers);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual(first.json());
    expect((await post('/v1/statements', { ...kirby, country: 'AT', notes: 'other' }, headers)).statusCode).toBe(422);
  });

  it('an over-long correlation id already in the log (written before the check) is not shown either', async () => {
    const old = newEvent('StatementRecorded', { ...kirby, country: 'SE', statementId: 'se-old', scope: {}, datePrecision: 'day' } as never, {
      correlationId: 'o'.repeat(12_000),
      causationId: 'req-1',
      apiKey: 'writer',
      idempotencyKey: 'old-key',
      requestHash: 'abc',
    });
    const { positions } = await store().append('country-SE', [old], 'no-stream');
    const logged = (await publicLog()).find((e) => e.position === positions[0])!;
    expect(logged.metadata).toEqual({ causationId: 'req-1', apiKey: 'writer' });
  });
});

describe('free text that is not well-formed', () => {
  const source = kirby.sources[0];
  const BAD = [
    ['a lone surrogate', 'a\ud800b'],
    ['a lone low surrogate', 'x\udc00'],
    ['NUL', 'no\u0000change'],
    ['BEL', 'ding\u0007'],
    ['ESC', '\u001b[31mred'],
    ['DEL', 'del\u007f'],
    ['a C1 control', 'next\u0085line'],
    ['a right-to-left override', 'we permit \u202Eno\u202C strikes'],
    ['a left-to-right override', '\u202Dabc\u202C'],
    ['an isolate left open', 'Kharkiv \u2067oblast'],
    ['an embedding left open', '\u202Bopen'],
    ['a pop with nothing to close', 'close\u2069'],
  ] as const;

  it('is refused in every free-text field of a statement with a 400 naming the field, and nothing is appended', async () => {
    const fields: Array<[string, (text: string) => object]> = [
      ['body.sources.0.title', (text) => ({ ...kirby, sources: [{ ...source, title: text }] })],
      ['body.sources.0.quote', (text) => ({ ...kirby, sources: [{ ...source, quote: text }] })],
      ['body.sources.0.publisher', (text) => ({ ...kirby, sources: [{ ...source, publisher: text }] })],
      ['body.speaker.name', (text) => ({ ...kirby, speaker: { ...kirby.speaker, name: text } })],
      ['body.speaker.role', (text) => ({ ...kirby, speaker: { ...kirby.speaker, role: text } })],
      ['body.scope.regions.1', (text) => ({ ...kirby, scope: { regions: ['Kharkiv oblast', text] } })],
      ['body.scope.weapons.0', (text) => ({ ...kirby, scope: { weapons: [text] } })],
      ['body.notes', (text) => ({ ...kirby, notes: text })],
    ];
    const before = (await get('/v1/events?limit=500')).json().items.length;
    for (const [path, body] of fields) {
      for (const [what, text] of BAD) {
        const response = await post('/v1/statements', { ...body(text), country: 'LU' });
        expectRefused(response, 400, path, `${path}: ${what}`);
        expect(response.json().errors.find((e: { path: string }) => e.path === path).message, `${path}: ${what}`).toMatch(/well-formed Unicode|control character U\+|bidirectional/);
      }
    }
    expect((await get('/v1/events?limit=500')).json().items.length).toBe(before);
  });

  it('is refused in a retraction reason, an attached source and a webhook description too', async () => {
    const on = await post('/v1/statements', { ...kirby, country: 'LU' });
    expect(on.statusCode).toBe(201);
    const id = on.json().statementId;
    for (const [what, text] of BAD) {
      expectRefused(await post(`/v1/statements/${id}/retraction`, { reason: text, reportedAt: '2024-06-01' }), 400, 'body.reason', what);
      expectRefused(await post(`/v1/statements/${id}/sources`, { source: { ...source, title: text } }), 400, 'body.source.title', what);
      expectRefused(await post('/v1/webhooks', { url: 'http://127.0.0.1:9/hooks', description: text }, admin), 400, 'body.description', what);
    }
  });

  it('line breaks written CRLF or CR, as forms and Windows clipboards send them, are kept as newlines', async () => {
    const created = await post('/v1/statements', { ...kirby, country: 'LU', notes: 'one\r\ntwo\rthree\nfour', sources: [{ ...source, quote: 'a\r\n\r\nb' }] });
    expect(created.statusCode, created.body).toBe(201);
    const read = (await get(`/v1/statements/${created.json().statementId}`)).json();
    expect(read.notes).toBe('one\ntwo\nthree\nfour');
    expect(read.sources[0].quote).toBe('a\n\nb');
  });

  it('tab, newline, emoji and other scripts are still text; outer whitespace is trimmed as before', async () => {
    const text = 'Line one,\n\tline two — «нічого» 🇺🇦 ok';
    const created = await post('/v1/statements', { ...kirby, country: 'LU', notes: text, sources: [{ ...source, quote: `  ${text}\r\n` }] });
    expect(created.statusCode, created.body).toBe(201);
    const read = (await get(`/v1/statements/${created.json().statementId}`)).json();
    expect(read.notes).toBe(text);
    expect(read.sources[0].quote).toBe(text);
  });

  it('right-to-left text is text: marks, and embeddings and isolates closed within it, are kept', async () => {
    const text = 'قال \u200Fالمتحدث: \u2067ATACMS\u2069 و\u202BHIMARS\u202C \u2068خاركيف\u2069';
    const created = await post('/v1/statements', { ...kirby, country: 'LU', sources: [{ ...source, quote: text }] });
    expect(created.statusCode, created.body).toBe(201);
    expect((await get(`/v1/statements/${created.json().statementId}`)).json().sources[0].quote).toBe(text);
  });

  it('text in the log from before the rule is still read, served and built on', async () => {
    const store = service.container.resolve<EventStore>(Tokens.EventStore);
    const data = { ...kirby, country: 'MT', statementId: 'mt-old', scope: {}, datePrecision: 'day', sources: [{ ...source, title: 'old\u0000title \ud800' }] };
    await store.append('country-MT', [{ eventId: '6f1d3c2a-0b1e-4c55-9a37-2f8e0d1c4b6a', type: 'StatementRecorded', schemaVersion: 2, data, metadata: {} }], 'no-stream');
    await expect.poll(async () => (await get('/v1/statements/mt-old')).statusCode).toBe(200);
    expect((await get('/v1/statements/mt-old')).json().sources[0].title).toBe('old\u0000title \ud800');
    expect((await get('/v1/countries/MT/position?at=2024-06-05')).json().status).toBe('prohibited');
    expect((await post('/v1/statements/mt-old/sources', { source: { ...source, title: 'A later report' } })).statusCode).toBe(201);
    // An event of the first schema version, lifted to the current one: the lift reads it as stored too.
    const v1 = { statementId: 'mt-v1', country: 'MT', stance: 'permits', scope: { regions: ['Kharkiv\r\nborder\u0000'] }, speakerName: 'A Minister', attribution: 'official', source: { title: 'v1', publishedAt: '2024-06-01', quote: 'yes' }, effectiveAt: '2024-06-01', reportedAt: '2024-06-01' };
    await store.append('country-MT', [{ eventId: '0b7e4c1d-2f3a-4e5b-8c6d-7a8b9c0d1e2f', type: 'StatementRecorded', schemaVersion: 1, data: v1, metadata: {} }], 'any');
    await expect.poll(async () => (await get('/v1/statements/mt-v1')).statusCode).toBe(200);
    expect((await get('/v1/statements/mt-v1')).json().scope.regions).toEqual(['Kharkiv\r\nborder\u0000']);
    expect((await post('/v1/admin/replay', {}, admin)).json().differences).toEqual([]);
  });
});

describe('a JSON body that cannot be taken', () => {
  const send = (payload: string) => service.app.inject({ method: 'POST', url: '/v1/statements', headers: { ...writer, 'content-type': 'application/json' }, payload });

  it('an empty body says it is empty, at body', async () => {
    for (const payload of ['', '   ', '\n']) {
      const response = await send(payload);
      expectRefused(response, 400, 'body', JSON.stringify(payload));
      expect(response.json().errors).toEqual([{ path: 'body', message: expect.stringMatching(/empty/) }]);
    }
  });

  it('malformed JSON says it is not JSON and why, at body', async () => {
    for (const payload of ['{', '{"a":}', "{'a':1}", '{"a":1,}', '{"a":NaN}', '{"a":1} trailing', '/* c */ {}', '[' .repeat(10_000)]) {
      const response = await send(payload);
      expectRefused(response, 400, 'body', payload.slice(0, 20));
      expect(response.json().errors).toEqual([{ path: 'body', message: expect.stringMatching(/^is not valid JSON: \S/) }]);
    }
  });

  it('a __proto__ key, or constructor holding prototype, is refused as such, not as JSON that does not parse', async () => {
    const refused = /"__proto__" key, or a "constructor" key holding "prototype": refused/;
    const cases = [
      ['{"__proto__":{"admin":true}}', 'body', refused],
      [JSON.stringify({ ...kirby, scope: { regions: ['x'] } }).replace('"regions"', '"__proto__":{"x":1},"regions"'), 'body', refused],
      ['{"sources":[{"\\u005f_proto__":{}}]}', 'body', refused],
      ['{"constructor":{"prototype":{"x":1}}}', 'body', refused],
    ] as const;
    for (const [payload, path, message] of cases) {
      const response = await send(payload);
      expectRefused(response, 400, path, payload.slice(0, 40));
      expect(response.json().errors, payload.slice(0, 40)).toEqual([{ path, message: expect.stringMatching(message) }]);
      expect(response.json().detail).not.toMatch(/not valid JSON/);
    }
    // "constructor" as a plain value is just an unknown field.
    expectRefused(await send(JSON.stringify({ ...kirby, constructor: 'x' })), 400, 'body');
  });

  it('deep nesting is still a 4xx, not a stack overflow', async () => {
    const depth = 150_000; // under the 1 MiB body limit
    expect((await send('['.repeat(depth) + ']'.repeat(depth))).statusCode).toBe(400);
    expect((await send('{"a":'.repeat(depth) + '1' + '}'.repeat(depth))).statusCode).toBe(400);
  });
});
