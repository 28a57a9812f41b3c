// Cross-origin reads, when the operator names who may make them (CORS_ORIGINS): a newsroom's
// page showing a country's position live, a researcher's notebook in the browser. Off by
// default, so nothing changes for a deployment that has not asked. Reads only: a browser
// sends a write (JSON, with a key) cross-origin only after a preflight, and the preflight
// does not list POST, PATCH or DELETE, so writes stay with same-origin pages and clients
// outside browsers. No credentials: the API's keys are bearer tokens, never cookies.
import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

export type CorsOrigins = '*' | string[];

export async function installCors(app: FastifyInstance, origins: CorsOrigins): Promise<void> {
  if (origins !== '*' && origins.length === 0) return;
  await app.register(fastifyCors, {
    origin: origins,
    methods: ['GET', 'HEAD'],
    // What a page may read of an answer beyond the basic headers: the revision to write
    // against, the request id to report, and how much of the rate limit is left and when to try again.
    exposedHeaders: ['ETag', 'X-Request-Id', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
    maxAge: 600,
  });
}
