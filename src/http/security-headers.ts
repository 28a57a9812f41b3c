// Security headers on every answer, from helmet, computed once at start and set
// by one hook. (@fastify/helmet builds helmet's middleware anew for every
// request, about 10 µs each, measured: a sixth of a small read. The headers
// never depend on the request here, so they are built once.)
//
// Two sets, by what the answer is (OWASP REST Security Cheat Sheet, "Security
// Headers"):
// - JSON from the API (/v1, /health, /metrics, /openapi.json) gets the headers
//   that protect an answer no browser should render or frame: a policy that
//   allows nothing and no framing, nosniff, X-Frame-Options, HSTS. The rest of
//   helmet's set (cross-origin isolation, referrer, DNS prefetch, download and
//   XSS-auditor switches) only acts on HTML documents, and a client of the API
//   would parse a dozen header lines on every answer for nothing.
// - Documents (Swagger UI at /docs and its files) get helmet's whole default
//   set: its scripts and styles are its own files, its inline styles allowed by
//   helmet's style-src. The timeline page at / sends its own, stricter policy
//   (src/ui/page.ts): @fastify/static sets it on the reply as the file is sent,
//   after this hook, so it replaces helmet's.
//
// HSTS goes only on answers sent over https (the socket's TLS, or X-Forwarded-Proto
// from a proxy TRUST_PROXY believes): RFC 6797, 7.2, says a host MUST NOT send it over
// plain HTTP, where a browser ignores it anyway.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

// The service speaks plain HTTP unless a proxy in front of it terminates TLS;
// upgrading a document's requests to https would break it there.
const DOCUMENT_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { directives: { upgradeInsecureRequests: null, frameAncestors: ["'none'"] } },
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
};

const API_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  xFrameOptions: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

/** The headers helmet sets for `options`, captured from one run of its middleware. */
export function securityHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers = new Map<string, string>();
  const response = {
    setHeader: (name: string, value: string | number) => headers.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => headers.delete(name.toLowerCase()),
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return Object.freeze(Object.fromEntries(headers));
}

const HSTS = 'strict-transport-security';

/** A set of headers without HSTS, and with it (for https). */
function overPlainAndTls(headers: Readonly<Record<string, string>>): { plain: Readonly<Record<string, string>>; tls: Readonly<Record<string, string>> } {
  const { [HSTS]: hsts, ...plain } = headers;
  return { plain: Object.freeze(plain), tls: Object.freeze({ ...plain, [HSTS]: hsts }) };
}

/** What every API answer carries; a hijacked one (the change stream) sets them in its own writeHead. */
export const API_SECURITY_HEADERS = overPlainAndTls(securityHeaders(API_OPTIONS));
/** What documents (Swagger UI) carry. */
export const DOCUMENT_SECURITY_HEADERS = overPlainAndTls(securityHeaders(DOCUMENT_OPTIONS));

/** The API's security headers for an answer to `request`: with HSTS only over https. */
export function apiSecurityHeaders(request: FastifyRequest): Readonly<Record<string, string>> {
  return request.protocol === 'https' ? API_SECURITY_HEADERS.tls : API_SECURITY_HEADERS.plain;
}

const API_PATH = /^\/(?:v1\/|health\/|metrics(?:$|\?)|openapi\.json(?:$|\?))/;

export function installSecurityHeaders(app: FastifyInstance): void {
  const entries = (set: typeof API_SECURITY_HEADERS) => ({ plain: Object.entries(set.plain), tls: Object.entries(set.tls) });
  const api = entries(API_SECURITY_HEADERS);
  const document = entries(DOCUMENT_SECURITY_HEADERS);
  // On the reply, not the raw response: node then writes them with Fastify's own in one
  // pass (headers set on the raw response made every writeHead take its slow path), and
  // a route that sets its own (the page's policy) still overrides them.
  app.addHook('onRequest', (request, reply, done) => {
    const set = API_PATH.test(request.url) ? api : document;
    const headers = request.protocol === 'https' ? set.tls : set.plain;
    for (let i = 0; i < headers.length; i++) reply.header(headers[i][0], headers[i][1]);
    done();
  });
}
