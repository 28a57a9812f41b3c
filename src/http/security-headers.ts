// Security headers on every answer: helmet's, computed once at start and set
// by one hook. (@fastify/helmet builds helmet's middleware anew for every
// request, about 10 µs each, measured: a sixth of a small read. The headers
// never depend on the request here, so they are built once.)
//
// helmet's default policy fits the JSON API and Swagger UI at /docs (its
// scripts and styles are its own files; its inline styles are allowed by
// helmet's style-src). The timeline page at / sends its own, stricter policy
// (src/ui/page.ts): @fastify/static sets it as the file is sent, after this
// hook, and Fastify's headers win over those set on the raw response.
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

export function installSecurityHeaders(app: FastifyInstance): void {
  const headers = securityHeaders();
  // On the raw response, as helmet itself does, so hijacked answers (the change stream) carry them too.
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.raw.setHeader(name, value);
    done();
  });
}
