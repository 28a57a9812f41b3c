// Security headers on every answer: helmet's, computed once at start and set
// by one hook. (@fastify/helmet builds helmet's middleware anew for every
// request, about 10 µs each, measured: a sixth of a small read. The headers
// never depend on the request here, so they are built once.)
//
// helmet's default policy fits the JSON API and Swagger UI at /docs (its
// scripts and styles are its own files; its inline styles are allowed by
// helmet's style-src). The timeline page at / sends its own, stricter policy
// (src/ui/page.ts): @fastify/static sets it on the reply as the file is sent,
// after this hook, so it replaces helmet's.
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

const OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    directives: {
      // The service speaks plain HTTP unless a proxy in front of it terminates TLS;
      // upgrading the page's requests to https would break it there.
      upgradeInsecureRequests: null,
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
};

/** The headers helmet sets for OPTIONS, captured from one run of its middleware. */
export function securityHeaders(options: HelmetOptions = OPTIONS): Array<[string, string]> {
  const headers = new Map<string, string>();
  const response = {
    setHeader: (name: string, value: string | number) => headers.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => headers.delete(name.toLowerCase()),
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return [...headers];
}

/** The headers above, computed once: every answer gets them, a hijacked one (the change stream) from its own writeHead. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries(securityHeaders()));

export function installSecurityHeaders(app: FastifyInstance): void {
  const headers = Object.entries(SECURITY_HEADERS);
  // On the reply, not the raw response: node then writes them with Fastify's own in one
  // pass (headers set on the raw response made every writeHead take its slow path), and
  // a route that sets its own (the page's policy) still overrides them.
  app.addHook('onRequest', (_request, reply, done) => {
    for (let i = 0; i < headers.length; i++) reply.header(headers[i][0], headers[i][1]);
    done();
  });
}
