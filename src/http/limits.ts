// Limits that keep one client from taking the service from the others: rate
// limits per client address and per API key (429 with Retry-After), and the
// server's timeouts. The body limit is BODY_LIMIT_BYTES in app.ts; the page
// size of every list is capped by its `limit` schema (MAX_PAGE_SIZE).
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKey, Config } from '../config.js';
import { presentedKey } from './auth.js';
import { tooManyRequests } from './problems.js';

/** The largest page any list answers with; every `limit` parameter is capped at it. */
export const MAX_PAGE_SIZE = 500;

export interface Limits {
  /** Requests per window from one client address (an IPv6 /64 counts as one); 0 turns it off. */
  perAddress: number;
  /** Requests per window with one API key, from any address; 0 turns it off. */
  perKey: number;
  windowMs: number;
  /** Time to receive a whole request, headers and body, before the server answers 408. */
  requestTimeoutMs: number;
  /** An idle socket is closed after this long. Above the change stream's 15 s heartbeat. */
  connectionTimeoutMs: number;
  /** Change streams open at once from one client address; 0 turns it off. */
  streamsPerAddress: number;
}

/** Generous (10,000 requests/s from one address, 5,000 with one key, over a minute), so tests and benchmarks are not throttled unless they ask to be; a public deployment sets its own. */
export const DEFAULT_LIMITS: Limits = {
  perAddress: 600_000,
  perKey: 300_000,
  windowMs: 60_000,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 120_000,
  streamsPerAddress: 100,
};

export function limitsFrom(config: Config): Limits {
  return {
    perAddress: config.RATE_LIMIT_PER_ADDRESS,
    perKey: config.RATE_LIMIT_PER_KEY,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: config.CONNECTION_TIMEOUT_MS,
    streamsPerAddress: config.STREAMS_PER_ADDRESS,
  };
}

/** Options for Fastify(): the timeouts, and a path parameter as long as the longest id the API accepts. */
export function serverOptions(limits: Limits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    // Node checks for timed-out requests every 30 s by default, which would let a slow client
    // hold a connection for up to a minute past a 30 s limit.
    http: {
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(limits.requestTimeoutMs / 4))),
      headersTimeout: Math.min(60_000, limits.requestTimeoutMs),
    },
    // Statement ids may be 128 characters (events/vocabulary.ts); find-my-way's default of 100 refused them.
    routerOptions: { maxParamLength: 256 },
  };
}

interface Check {
  what: string;
  limiter: ReturnType<FastifyInstance['createRateLimit']>;
  applies(request: FastifyRequest): boolean;
}

export async function installRateLimits(app: FastifyInstance, keys: readonly ApiKey[], limits: Limits): Promise<void> {
  if (limits.perAddress <= 0 && limits.perKey <= 0) return;
  // Not global: both checks run in one hook, before the body is read, and the
  // 429 is the service's own problem document.
  await app.register(fastifyRateLimit, { global: false, timeWindow: limits.windowMs, cache: 10_000 });
  const keyNames = new WeakMap<FastifyRequest, string>();
  const checks: Check[] = [];
  if (limits.perAddress > 0) {
    // The plugin's own key for an address: the IP, with IPv6 grouped by /64.
    checks.push({ what: 'this client address', limiter: app.createRateLimit({ max: limits.perAddress, timeWindow: limits.windowMs }), applies: () => true });
  }
  if (limits.perKey > 0) {
    checks.push({
      what: 'this API key',
      limiter: app.createRateLimit({ max: limits.perKey, timeWindow: limits.windowMs, keyGenerator: (request) => keyNames.get(request)! }),
      applies: (request) => {
        // Counted by the key's name, never its secret; a wrong key is counted by its address only.
        const { key } = presentedKey(request, keys);
        if (key) keyNames.set(request, `key:${key.name}`);
        return key !== undefined;
      },
    });
  }

  app.addHook('onRequest', async (request) => {
    for (const { what, limiter, applies } of checks) {
      if (!applies(request)) continue;
      const outcome = await limiter(request);
      if (!outcome.isAllowed && outcome.isExceeded) {
        const seconds = Math.max(1, outcome.ttlInSeconds);
        throw tooManyRequests(`more than ${outcome.max} requests in ${limits.windowMs / 1000} s from ${what}; retry after ${seconds} s`, seconds);
      }
    }
  });
}
