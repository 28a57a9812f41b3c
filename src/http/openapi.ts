// /openapi.json as the routes really answer. The zod schemas give each route's
// input and its success (described, so Swagger UI says what it means); the problems every route can answer are the same
// everywhere, so they are added here rather than listed on every route: a 400
// naming the field wherever input is validated, a 429 from the rate limits, a 413
// and a 415 wherever Fastify reads a body (every method but GET and HEAD, whether
// or not the route takes one), a 414 wherever a path parameter is longer than the
// router reads, and every 4xx and 5xx as application/problem+json (RFC 9457),
// which is what sendProblem writes, not application/json.
import type { SwaggerTransformObject } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

const DESCRIPTIONS: Record<string, string> = {
  400: 'Bad request: a parameter, header or body field is not valid; `errors` names each',
  401: 'No API key (WWW-Authenticate: Bearer), or one that is not known (Bearer error="invalid_token")',
  403: 'The API key does not have the role this needs',
  404: 'Not found',
  409: 'Conflict with the current state (a stale If-Match, a duplicate)',
  413: 'The body is larger than allowed (1 MiB)',
  414: 'A path parameter is longer than the service reads (256 characters)',
  415: 'The body is not application/json',
  422: 'Well-formed, but against a rule of the domain; `errors` names the field',
  429: 'Too many requests; Retry-After says when to try again',
  503: 'Not available now; Retry-After says when to try again',
};

/** What a success means, where the route's schema does not say (Swagger UI would show "Default Response"). */
const SUCCESSES: Record<string, string> = {
  200: 'OK',
  201: 'Created: written to the log and applied to the read model',
  202: 'Accepted: queued, and sent in the background',
  204: 'Done; nothing to answer',
};

/**
 * Each operation's name, which client generators make their method names of (without one they
 * invent them from the path). Named here, all in one view, by method and route.
 */
const OPERATION_IDS: Record<string, string> = {
  'GET /health/live': 'getLiveness',
  'GET /health/ready': 'getReadiness',
  'GET /v1/countries': 'listCountries',
  'GET /v1/countries/:code/position': 'getPosition',
  'GET /v1/countries/:code/explain': 'explainPosition',
  'GET /v1/countries/:code/history': 'getHistory',
  'GET /v1/statements': 'listStatements',
  'GET /v1/statements/:id': 'getStatement',
  'POST /v1/statements': 'recordStatement',
  'POST /v1/statements/:id/retraction': 'retractStatement',
  'POST /v1/statements/:id/sources': 'attachSource',
  'GET /v1/changes': 'listChanges',
  'GET /v1/changes/stream': 'streamChanges',
  'GET /v1/events': 'listEvents',
  'GET /v1/audit/fingerprint': 'getFingerprint',
  'POST /v1/admin/replay': 'replayAndAudit',
  'POST /v1/webhooks': 'createWebhook',
  'GET /v1/webhooks': 'listWebhooks',
  'GET /v1/webhooks/:id': 'getWebhook',
  'PATCH /v1/webhooks/:id': 'updateWebhook',
  'DELETE /v1/webhooks/:id': 'deleteWebhook',
  'POST /v1/webhooks/:id/rotate-secret': 'rotateWebhookSecret',
  'GET /v1/webhooks/:id/deliveries': 'listDeliveries',
  'POST /v1/webhooks/:id/deliveries/:deliveryId/retry': 'retryDelivery',
  'POST /v1/webhooks/:id/replay': 'replayToWebhook',
  'POST /v1/webhooks/:id/test': 'testWebhook',
};

/** The Problem schema (schemas.ts), which carries an id: held once in components. */
const PROBLEM = { $ref: '#/components/schemas/Problem' };

type Transform = typeof jsonSchemaTransform;
type Responses = Record<string, unknown>;
const isContentForm = (entry: unknown) => typeof entry === 'object' && entry !== null && 'content' in entry;

export const openApiTransform: Transform = (document) => {
  const result = jsonSchemaTransform(document);
  const schema = result.schema as { hide?: boolean; response?: Responses; operationId?: string };
  if (schema.hide) return result;
  const methods = [document.route.method].flat();
  schema.operationId ??= OPERATION_IDS[`${methods.find((method) => method !== 'HEAD')} ${document.url}`];
  const response: Responses = (schema.response ??= {});
  const input = document.schema as Record<string, unknown> | undefined;
  if (['querystring', 'params', 'body', 'headers'].some((part) => input?.[part]) && !('400' in response)) response['400'] = PROBLEM;
  if (!('429' in response)) response['429'] = PROBLEM;
  if (methods.some((method) => method !== 'GET' && method !== 'HEAD')) {
    for (const status of ['413', '415']) if (!(status in response)) response[status] = PROBLEM;
  }
  if (document.url.includes(':') && !('414' in response)) response['414'] = PROBLEM;
  for (const [status, entry] of Object.entries(response)) {
    if (isContentForm(entry)) continue;
    if (Number(status) >= 400) response[status] = { description: DESCRIPTIONS[status] ?? 'A problem', content: { 'application/problem+json': { schema: entry } } };
    // A null schema is what @fastify/swagger documents with no content at all: a 204 has no body.
    else if (status === '204') response[status] = { type: 'null', description: (entry as { description?: string }).description ?? SUCCESSES[status] };
    else response[status] = { description: (entry as { description?: string }).description ?? SUCCESSES[status] ?? 'Success', content: { 'application/json': { schema: entry } } };
  }
  // In order of status, as a reader looks them up.
  schema.response = Object.fromEntries(Object.entries(response).sort(([a], [b]) => Number(a) - Number(b)));
  return result;
};

type Operation = { requestBody?: { required?: boolean; content?: Record<string, { schema?: { anyOf?: Array<{ type?: string }> } }> } };

/**
 * The whole document, once built: a body that may be absent (its schema takes null, as a route
 * that takes no fields says) is not required. @fastify/swagger marks every body required.
 */
export const openApiDocument: SwaggerTransformObject = (built) => {
  if (!('openapiObject' in built)) return built.swaggerObject;
  // The schemas with an id (Problem, Statement, Source), in components; the library writes each
  // as read (`XInput`) and as written (`X`), and some are only ever written: those go.
  const document = jsonSchemaTransformObject(built) as typeof built.openapiObject;
  const components = (document.components?.schemas ?? {}) as Record<string, unknown>;
  const text = JSON.stringify(document);
  for (const name of Object.keys(components)) if (name.endsWith('Input') && !text.includes(`"#/components/schemas/${name}"`)) delete components[name];
  const paths = (document.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const body = operation.requestBody;
      const media = Object.values(body?.content ?? {});
      if (body && media.length > 0 && media.every((m) => m.schema?.anyOf?.some((branch) => branch.type === 'null'))) body.required = false;
    }
  }
  return document;
};
