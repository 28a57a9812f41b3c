// GET /: the timeline page, plain files from public/ (HTML, CSS and ES
// modules, no build step). The page reads only the public REST API, so it is
// also a check that the API is enough for a reader.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import path from 'node:path';
import { projectRoot } from '../project-root.js';

// The page loads nothing but its own files and calls nothing but this origin;
// data from the API is only ever set as text, and this policy is the second line.
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export async function registerPage(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: path.join(projectRoot(), 'public'),
    // One route per file found at start, not a catch-all: unknown paths stay the API's 404s.
    wildcard: false,
    setHeaders: (reply) => {
      reply.header('content-security-policy', PAGE_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    },
  });
}
