// /openapi.json against the service that serves it: a valid OpenAPI 3.1 document (what client
// generators read), every schema in it compiles, and what the seeded service really answers,
// to good requests and bad ones, is what the document declares for that operation, status
// and content type. api.test.ts checks what the answers mean; this checks they are as documented.
import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaTypeOf, mismatches, schemaCompiler, schemasOf, type OpenApiDocument } from '../helpers/openapi.js';
import { freePort } from '../helpers/free-port.js';
import { admin, kharkiv, kirby, startTestService, untilReady, writer, type TestService } from '../helpers/service.js';

let service: TestService;
/** /openapi.json as served, with $refs to its components. */
let served: OpenApiDocument;
/** The same with every $ref replaced by what it names, as a generator reads it; the tests below check answers against it. */
let document: OpenApiDocument;
const compile = schemaCompiler();

beforeAll(async () => {
  // 127.0.0.1 allowed: the webhook endpoint points at a closed port here, so its test ping fails fast.
  service = await startTestService({ env: { SEED_ON_START: 'true', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } });
  await untilReady(service.app);
  served = (await service.app.inject('/openapi.json')).json();
  document = (await dereference(structuredClone(served) as unknown as Parameters<typeof dereference>[0])) as unknown as OpenApiDocument;
});
afterAll(async () => service?.stop());

interface Call {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  payload?: unknown;
}

/** Sends `call` (to `on`) and expects `status`, answered as the document says `path` (its template) answers with it. */
async function expectDocumented(path: string, status: number, call: Call, on: TestService = service) {
  const method = call.method ?? 'GET';
  const answer = await on.app.inject({ method, url: call.url, headers: call.headers, payload: call.payload as string | object | undefined });
  expect(answer.statusCode, `${method} ${call.url}: ${answer.body.slice(0, 300)}`).toBe(status);
  expect(mismatches(document, compile, method, path, answer), `${method} ${call.url}`).toEqual([]);
  // Every refusal is RFC 9457, whatever the operation lists; not ready is the readiness document, as ready is.
  if (status >= 400 && !(path === '/health/ready' && status === 503)) expect(mediaTypeOf(answer.headers['content-type']), `${method} ${call.url}`).toBe('application/problem+json');
  return answer;
}

describe('the document', () => {
  it('is valid OpenAPI 3.1 to @readme/openapi-parser, without warnings', async () => {
    expect(served.openapi).toBe('3.1.0');
    // validate() dereferences what it is given: a copy, so the document stays as served.
    const result = await validate(structuredClone(served) as unknown as Parameters<typeof validate>[0]);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.warnings).toEqual([]);
  });

  it('holds the problem document once, in components, and every refusal of every operation refers to it; a statement and a source too', () => {
    const components = (served as unknown as { components: { schemas: Record<string, { properties?: object }> } }).components.schemas;
    expect(Object.keys(components.Problem.properties ?? {})).toEqual(['type', 'title', 'status', 'detail', 'instance', 'errors']);
    const refusals = Object.values(served.paths).flatMap((operations) =>
      Object.values(operations).flatMap((operation) =>
        Object.values(operation.responses).flatMap((response) => (response.content?.['application/problem+json'] ? [response.content['application/problem+json'].schema] : [])),
      ),
    );
    expect(refusals.length).toBeGreaterThan(100);
    expect(refusals.filter((schema) => JSON.stringify(schema) !== '{"$ref":"#/components/schemas/Problem"}')).toEqual([]);
    // So are a statement and a source, under names a client generator makes types of; none is there unused.
    const statement = served.paths['/v1/statements/{id}'].get.responses['200'].content?.['application/json'].schema;
    expect(statement).toEqual({ $ref: '#/components/schemas/Statement' });
    expect(JSON.stringify(components.Statement)).toContain('"#/components/schemas/Source"');
    const text = JSON.stringify(served);
    for (const name of Object.keys(components)) expect(text, name).toContain(`"#/components/schemas/${name}"`);
  });

  it('lists for a read no refusal that only a write can earn: a conflict, a body too large or not JSON, a broken rule', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      const listed = Object.keys(operations.get?.responses ?? {});
      expect(listed.filter((status) => ['409', '413', '415', '422'].includes(status)), `GET ${path}`).toEqual([]);
    }
  });

  it('names every operation, each once, for client generators to name their methods by', () => {
    const ids = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations as Record<string, { operationId?: string }>).map(([method, operation]) => [`${method} ${path}`, operation.operationId] as const),
    );
    expect(ids.length).toBeGreaterThan(20);
    expect(ids.filter(([, id]) => !id).map(([where]) => where)).toEqual([]);
    expect(new Set(ids.map(([, id]) => id)).size).toBe(ids.length);
    expect(Object.fromEntries(ids)).toMatchObject({ 'get /v1/countries/{code}/position': 'getPosition', 'post /v1/statements': 'recordStatement' });
  });

  it('has schemas that compile as strict JSON Schema 2020-12, the dialect OpenAPI 3.1 declares', () => {
    const schemas = schemasOf(document);
    expect(schemas.length).toBeGreaterThan(100);
    for (const { where, schema } of schemas) expect(() => compile(schema), where).not.toThrow();
  });
});

describe('public reads on the seeded service answer as documented', () => {
  const statementId = 'oa-kharkiv';
  beforeAll(async () => {
    // Writes answer as documented too; a retracted statement with a second source gives the views all their parts.
    const post = (path: string, url: string, payload: object) => expectDocumented(path, 201, { method: 'POST', url, headers: writer, payload });
    await post('/v1/statements', '/v1/statements', { ...kirby, statementId: 'oa-kirby' });
    await post('/v1/statements', '/v1/statements', { ...kharkiv, statementId });
    await post('/v1/statements/{id}/sources', `/v1/statements/${statementId}/sources`, { source: { ...kharkiv.sources[0], publisher: 'Reuters' } });
    await post('/v1/statements/{id}/retraction', '/v1/statements/oa-kirby/retraction', { reason: 'misreported', reportedAt: '2024-06-01', source: kirby.sources[0] });
  });

  it('countries, positions and histories', async () => {
    await expectDocumented('/v1/countries', 200, { url: '/v1/countries' });
    for (const query of ['', '?at=2024-05-30', '?at=2024-06-05&knownAt=2024-05-29', '?at=2024-06-05&knownAt=2024-06-01T12:00:00Z', '?position=3']) {
      await expectDocumented('/v1/countries/{code}/position', 200, { url: `/v1/countries/US/position${query}` });
    }
    // A country with nothing on record: the nulls of an unknown position.
    await expectDocumented('/v1/countries/{code}/position', 200, { url: '/v1/countries/NZ/position?at=2024-05-30' });
    await expectDocumented('/v1/countries/{code}/history', 200, { url: '/v1/countries/US/history' });
    await expectDocumented('/v1/countries/{code}/history', 200, { url: '/v1/countries/US/history?knownAt=2024-05-29' });
  });

  it('explanations, as JSON, as Markdown and as plain text', async () => {
    await expectDocumented('/v1/countries/{code}/explain', 200, { url: '/v1/countries/US/explain?at=2024-06-05' });
    const markdown = await expectDocumented('/v1/countries/{code}/explain', 200, { url: '/v1/countries/US/explain?at=2024-06-05', headers: { accept: 'text/markdown' } });
    expect(mediaTypeOf(markdown.headers['content-type'])).toBe('text/markdown');
    const text = await expectDocumented('/v1/countries/{code}/explain', 200, { url: '/v1/countries/US/explain?at=2024-06-05', headers: { accept: 'text/plain' } });
    expect(mediaTypeOf(text.headers['content-type'])).toBe('text/plain');
  });

  it('statements, one by one and paged', async () => {
    const first = await expectDocumented('/v1/statements', 200, { url: '/v1/statements?limit=2' });
    await expectDocumented('/v1/statements', 200, { url: `/v1/statements?limit=2&cursor=${first.json().nextCursor}` });
    await expectDocumented('/v1/statements', 200, { url: '/v1/statements?country=US&from=2024-01-01&to=2024-12-31' });
    await expectDocumented('/v1/statements/{id}', 200, { url: `/v1/statements/${statementId}` });
  });

  it('the change feed, the event log, the fingerprint and readiness', async () => {
    const changes = await expectDocumented('/v1/changes', 200, { url: '/v1/changes?limit=5' });
    await expectDocumented('/v1/changes', 200, { url: `/v1/changes?after=${changes.json().nextAfter}` });
    const events = await expectDocumented('/v1/events', 200, { url: '/v1/events?after=0&limit=50' });
    await expectDocumented('/v1/events', 200, { url: `/v1/events?after=${events.json().nextAfter}` });
    await expectDocumented('/v1/audit/fingerprint', 200, { url: '/v1/audit/fingerprint' });
    await expectDocumented('/v1/audit/fingerprint', 200, { url: '/v1/audit/fingerprint?position=5' });
    await expectDocumented('/health/live', 200, { url: '/health/live' });
    await expectDocumented('/health/ready', 200, { url: '/health/ready' });
  });
});

describe('webhook and admin routes answer as documented, with the admin key', () => {
  let id: string;
  beforeAll(async () => {
    const created = await expectDocumented('/v1/webhooks', 201, { method: 'POST', url: '/v1/webhooks', headers: admin, payload: { url: 'http://127.0.0.1:9/hooks', types: ['position.changed'], countries: ['US'] } });
    id = created.json().id;
  });

  it('endpoints, listed, read and changed', async () => {
    await expectDocumented('/v1/webhooks', 200, { url: '/v1/webhooks', headers: admin });
    await expectDocumented('/v1/webhooks', 200, { url: '/v1/webhooks?limit=1', headers: admin });
    await expectDocumented('/v1/webhooks/{id}', 200, { url: `/v1/webhooks/${id}`, headers: admin });
    await expectDocumented('/v1/webhooks/{id}/rotate-secret', 200, { method: 'POST', url: `/v1/webhooks/${id}/rotate-secret`, headers: admin });
    // Disabled through the API: the view's `disabled` note is there to check.
    await expectDocumented('/v1/webhooks/{id}', 200, { method: 'PATCH', url: `/v1/webhooks/${id}`, headers: admin, payload: { enabled: false, description: 'conformance' } });
    await expectDocumented('/v1/webhooks/{id}/replay', 409, { method: 'POST', url: `/v1/webhooks/${id}/replay`, headers: admin, payload: { after: 0 } });
    await expectDocumented('/v1/webhooks/{id}', 200, { method: 'PATCH', url: `/v1/webhooks/${id}`, headers: admin, payload: { enabled: true } });
  });

  it('deliveries: a test ping, its log, a retry and a replay', async () => {
    // Nothing listens on port 9: the ping's one attempt fails at once, and is logged.
    await expectDocumented('/v1/webhooks/{id}/test', 200, { method: 'POST', url: `/v1/webhooks/${id}/test`, headers: admin });
    const log = await expectDocumented('/v1/webhooks/{id}/deliveries', 200, { url: `/v1/webhooks/${id}/deliveries`, headers: admin });
    await expectDocumented('/v1/webhooks/{id}/deliveries', 200, { url: `/v1/webhooks/${id}/deliveries?status=failed&limit=1`, headers: admin });
    const delivery = log.json().items[0].id as string;
    await expectDocumented('/v1/webhooks/{id}/deliveries/{deliveryId}/retry', 202, { method: 'POST', url: `/v1/webhooks/${id}/deliveries/${delivery}/retry`, headers: admin });
    const head = (await service.app.inject('/health/ready')).json().head as number;
    await expectDocumented('/v1/webhooks/{id}/replay', 202, { method: 'POST', url: `/v1/webhooks/${id}/replay`, headers: admin, payload: { after: Math.max(0, head - 3) } });
  });

  it('replay and audit', async () => {
    await expectDocumented('/v1/admin/replay', 200, { method: 'POST', url: '/v1/admin/replay', headers: admin });
  });

  it('an endpoint deleted answers 204 with no body, and is then not found', async () => {
    await expectDocumented('/v1/webhooks/{id}', 204, { method: 'DELETE', url: `/v1/webhooks/${id}`, headers: admin });
    await expectDocumented('/v1/webhooks/{id}', 404, { url: `/v1/webhooks/${id}`, headers: admin });
  });
});

describe('bad requests are problem documents the operation lists', () => {
  it('to the public reads', async () => {
    const bad: Array<[string, string]> = [
      ['/v1/countries', '/v1/countries?page=2'],
      ['/v1/countries/{code}/position', '/v1/countries/usa/position'],
      ['/v1/countries/{code}/position', '/v1/countries/US/position?at=2024-02-30'],
      ['/v1/countries/{code}/position', '/v1/countries/US/position?knownAt=yesterday'],
      ['/v1/countries/{code}/position', '/v1/countries/US/position?position=999999999'],
      ['/v1/countries/{code}/explain', '/v1/countries/US/explain?position=3'],
      ['/v1/countries/{code}/history', '/v1/countries/US/history?knownAt=2024-05-29T12:00:00 02:00'],
      ['/v1/statements', '/v1/statements?limit=0'],
      ['/v1/statements', '/v1/statements?cursor=abc'],
      ['/v1/statements/{id}', '/v1/statements/has%20a%20space'],
      ['/v1/changes', '/v1/changes?after=-1'],
      ['/v1/changes', '/v1/changes?after=999999999'],
      ['/v1/changes/stream', '/v1/changes/stream?after=abc'],
      ['/v1/events', '/v1/events?limit=501'],
      ['/v1/audit/fingerprint', '/v1/audit/fingerprint?position=999999999'],
      ['/health/live', '/health/live?verbose=1'],
      ['/health/ready', '/health/ready?verbose=1'],
    ];
    for (const [path, url] of bad) await expectDocumented(path, 400, { url });
    await expectDocumented('/v1/statements/{id}', 404, { url: '/v1/statements/no-such-statement' });
  });

  it('to the writes', async () => {
    const post = (path: string, status: number, call: Omit<Call, 'method'>) => expectDocumented(path, status, { method: 'POST', ...call });
    await post('/v1/statements', 401, { url: '/v1/statements', payload: kirby });
    await post('/v1/statements', 401, { url: '/v1/statements', headers: { authorization: 'Bearer not-a-key' }, payload: kirby });
    await post('/v1/statements', 400, { url: '/v1/statements', headers: writer, payload: { ...kirby, stance: 'maybe' } });
    await post('/v1/statements', 422, { url: '/v1/statements', headers: writer, payload: { ...kirby, reportedAt: '2999-01-01' } });
    await post('/v1/statements', 415, { url: '/v1/statements', headers: { ...writer, 'content-type': 'text/plain' }, payload: 'stance: permits' });
    await post('/v1/statements', 413, { url: '/v1/statements', headers: writer, payload: { ...kirby, notes: 'x'.repeat(1024 * 1024) } });
    await post('/v1/statements', 409, { url: '/v1/statements', headers: writer, payload: { ...kirby, statementId: 'oa-kirby' } });
    await post('/v1/statements/{id}/retraction', 404, { url: '/v1/statements/no-such-statement/retraction', headers: writer, payload: { reason: 'x', reportedAt: '2024-06-01' } });
    await post('/v1/statements/{id}/sources', 400, { url: '/v1/statements/oa-kharkiv/sources', headers: writer, payload: { source: {} } });
  });

  it('to the admin routes, without the admin key or with bad input', async () => {
    await expectDocumented('/v1/webhooks', 401, { url: '/v1/webhooks' });
    await expectDocumented('/v1/webhooks', 403, { url: '/v1/webhooks', headers: writer });
    await expectDocumented('/v1/webhooks', 400, { url: '/v1/webhooks?limit=0', headers: admin });
    await expectDocumented('/v1/webhooks', 400, { method: 'POST', url: '/v1/webhooks', headers: admin, payload: { url: 'ftp://127.0.0.1/hooks' } });
    await expectDocumented('/v1/webhooks/{id}', 400, { url: '/v1/webhooks/not-an-id', headers: admin });
    await expectDocumented('/v1/webhooks/{id}', 404, { url: '/v1/webhooks/ep_0000000000', headers: admin });
    await expectDocumented('/v1/webhooks/{id}/deliveries', 400, { url: '/v1/webhooks/ep_0000000000/deliveries?status=lost', headers: admin });
    await expectDocumented('/v1/webhooks/{id}/deliveries', 404, { url: '/v1/webhooks/ep_0000000000/deliveries', headers: admin });
    await expectDocumented('/v1/admin/replay', 401, { method: 'POST', url: '/v1/admin/replay' });
    await expectDocumented('/v1/admin/replay', 403, { method: 'POST', url: '/v1/admin/replay', headers: writer });
  });

  it('to any route that reads a body, whether it takes one or not: too large, or not JSON', async () => {
    const endpoint = 'ep_0000000000';
    const tooLarge = { 'content-type': 'application/json' };
    const payload = JSON.stringify({ description: 'x'.repeat(1024 * 1024) });
    for (const [method, path, url] of [
      ['POST', '/v1/webhooks', '/v1/webhooks'],
      ['PATCH', '/v1/webhooks/{id}', `/v1/webhooks/${endpoint}`],
      ['DELETE', '/v1/webhooks/{id}', `/v1/webhooks/${endpoint}`],
      ['POST', '/v1/webhooks/{id}/test', `/v1/webhooks/${endpoint}/test`],
      ['POST', '/v1/webhooks/{id}/deliveries/{deliveryId}/retry', `/v1/webhooks/${endpoint}/deliveries/dlv_00000000/retry`],
      ['POST', '/v1/admin/replay', '/v1/admin/replay'],
    ] as const) {
      await expectDocumented(path, 413, { method, url, headers: { ...admin, ...tooLarge }, payload });
      await expectDocumented(path, 415, { method, url, headers: { ...admin, 'content-type': 'text/plain' }, payload: 'replay' });
    }
  });

  it('with a path parameter longer than the router reads', async () => {
    const long = 'a'.repeat(300);
    await expectDocumented('/v1/statements/{id}', 414, { url: `/v1/statements/${long}` });
    await expectDocumented('/v1/countries/{code}/position', 414, { url: `/v1/countries/${long}/position` });
    await expectDocumented('/v1/webhooks/{id}', 414, { url: `/v1/webhooks/ep_${long}`, headers: admin });
  });
});

describe('while the event store cannot be reached, what needs it is a documented 503', () => {
  let away: TestService;
  beforeAll(async () => {
    // KurrentDB where nothing listens, with the real client: every call to the store fails at once.
    away = await startTestService({ env: { EVENT_STORE: 'kurrentdb', KURRENTDB_URL: `kurrentdb://127.0.0.1:${await freePort()}?tls=false`, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } });
  });
  afterAll(async () => away?.stop());

  it('readiness says so in its own document, and the routes that reach the store answer 503', async () => {
    const ready = await expectDocumented('/health/ready', 503, { url: '/health/ready' }, away);
    expect(mediaTypeOf(ready.headers['content-type'])).toBe('application/json');
    await expectDocumented('/v1/statements', 503, { method: 'POST', url: '/v1/statements', headers: writer, payload: kirby }, away);
    await expectDocumented('/v1/events', 503, { url: '/v1/events' }, away);
    await expectDocumented('/v1/changes', 503, { url: '/v1/changes?after=5' }, away);
    await expectDocumented('/v1/webhooks', 503, { method: 'POST', url: '/v1/webhooks', headers: admin, payload: { url: 'http://127.0.0.1:9/hooks' } }, away);
    await expectDocumented('/v1/webhooks/{id}', 503, { method: 'PATCH', url: '/v1/webhooks/ep_0000000000', headers: admin, payload: { description: 'x' } }, away);
    await expectDocumented('/v1/webhooks/{id}', 503, { method: 'DELETE', url: '/v1/webhooks/ep_0000000000', headers: admin }, away);
    await expectDocumented('/v1/webhooks/{id}/rotate-secret', 503, { method: 'POST', url: '/v1/webhooks/ep_0000000000/rotate-secret', headers: admin }, away);
    // The replay runs in a worker thread, whose error crosses back without its class.
    await expectDocumented('/v1/admin/replay', 503, { method: 'POST', url: '/v1/admin/replay', headers: admin }, away);
  });

  it('reads of the read model alone still answer', async () => {
    await expectDocumented('/v1/countries', 200, { url: '/v1/countries' }, away);
    await expectDocumented('/v1/changes', 200, { url: '/v1/changes' }, away);
    await expectDocumented('/v1/audit/fingerprint', 200, { url: '/v1/audit/fingerprint' }, away);
  });
});
