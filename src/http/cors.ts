// Cross-origin reads, when the operator names who may make them (CORS_ORIGINS): a newsroom's
// page showing a country's position live, a researcher's notebook in the browser. Off by
// default, so nothing changes for a deployment that has not asked. Reads only: a browser
// sends a write (JSON, with a key) cross-origin only after a preflight, and the preflight
// does not list POST, PATCH or DELETE, so writes stay with same-origin pages and clients
// outside browsers. No credentials: the API's keys are bearer tokens, never cookies.
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export type CorsOrigins = '*' | string[];

/**
 * Only a browser's cross-origin request carries Origin, and only a preflight also asks
 * Access-Control-Request-Method. Anything else (an OPTIONS from curl, a request without
 * Origin) is answered as with CORS off: a 405 naming the allowed methods, a 404, or the
 * route's answer, not the plugin's 204 or 400. Answers vary by Origin all the same.
 */
const isCors = (request: FastifyRequest) =>
  request.headers.origin !== undefined && (request.method !== 'OPTIONS' || request.headers['access-control-request-method'] !== undefined);

export async function installCors(app: FastifyInstance, origins: CorsOrigins): Promise<void> {
  if (origins !== '*' && origins.length === 0) return;
  const options: FastifyCorsOptions = {
    origin: origins,
    methods: ['GET', 'HEAD'],
    // What a page may read of an answer beyond the basic headers: the revision to write
    // against, the request id to report, and when to try again after a 429.
    exposedHeaders: ['ETag', 'X-Request-Id', 'Retry-After'],
    maxAge: 600,
  };
  const notCors: FastifyCorsOptions = { ...options, origin: false };
  await app.register(fastifyCors, {
    delegator: (request, callback) => callback(null, isCors(request) ? options : notCors),
  });
}
