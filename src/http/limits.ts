// Limits that keep one client from taking the service from the others: rate
// limits per client address and per API key (429 with Retry-After), and the
// server's timeouts. The body limit is BODY_LIMIT_BYTES in app.ts; the page
// size of every list is capped by its `limit` schema (MAX_PAGE_SIZE).
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
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
}

/** Generous (10,000 requests/s from one address, 5,000 with one key, over a minute), so tests and benchmarks are not throttled unless they ask to be; a public deployment sets its own. */
export const DEFAULT_LIMITS: Limits = {
  perAddress: 600_000,
  perKey: 300_000,
  windowMs: 60_000,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 120_000,
};

export function limitsFrom(config: Config): Limits {
  return {
    perAddress: config.RATE_LIMIT_PER_ADDRESS,
    perKey: config.RATE_LIMIT_PER_KEY,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: config.CONNECTION_TIMEOUT_MS,
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

/**
 * Requests counted per key in fixed windows, as @fastify/rate-limit's local
 * store counts them: a key's window starts with its first request and lasts
 * `windowMs`; the request that makes the count exceed `max` is refused, and so
 * is every later one until the window ends. At most `capacity` keys are kept,
 * the least recently seen dropped first. Synchronous: it runs on every request.
 */
export class FixedWindows {
  private readonly windows = new Map<string, Window>();
  /** Least recently seen first; a key seen again moves to the end (no Map writes, which cost more). */
  private oldest: Window | undefined;
  private newest: Window | undefined;

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request for `key`; the seconds to wait when it is over the limit, else 0. */
  hit(key: string): number {
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined) {
      window = { key, count: 0, startedAt: now, older: undefined, newer: undefined };
      this.windows.set(key, window);
      this.append(window);
      if (this.windows.size > this.capacity) this.drop(this.oldest!);
    } else if (window !== this.newest) {
      this.unlink(window);
      this.append(window);
    }
    if (window.startedAt + this.windowMs <= now) {
      window.count = 0;
      window.startedAt = now;
    }
    window.count++;
    if (window.count <= this.max) return 0;
    return Math.max(1, Math.ceil((this.windowMs - (now - window.startedAt)) / 1000));
  }

  private append(window: Window): void {
    window.older = this.newest;
    window.newer = undefined;
    if (this.newest) this.newest.newer = window;
    else this.oldest = window;
    this.newest = window;
  }

  private unlink(window: Window): void {
    if (window.older) window.older.newer = window.newer;
    else this.oldest = window.newer;
    if (window.newer) window.newer.older = window.older;
    else this.newest = window.older;
  }

  private drop(window: Window): void {
    this.unlink(window);
    this.windows.delete(window.key);
  }
}

interface Window {
  key: string;
  count: number;
  startedAt: number;
  older: Window | undefined;
  newer: Window | undefined;
}

/** The address a client is counted by: its IP, with an IPv6 address grouped by its /64. */
export function addressKey(ip: string): string {
  return ip.includes(':') ? normalizeIP(ip, 64) : ip;
}

export function installRateLimits(app: FastifyInstance, keys: readonly ApiKey[], limits: Limits): void {
  const perAddress = limits.perAddress > 0 ? new FixedWindows(limits.perAddress, limits.windowMs) : undefined;
  const perKey = limits.perKey > 0 ? new FixedWindows(limits.perKey, limits.windowMs) : undefined;
  if (!perAddress && !perKey) return;
  const refuse = (windows: FixedWindows, what: string, seconds: number) =>
    tooManyRequests(`more than ${windows.max} requests in ${windows.windowMs / 1000} s from ${what}; retry after ${seconds} s`, seconds);

  // Before the body is read, and the 429 is the service's own problem document.
  app.addHook('onRequest', (request, _reply, done) => {
    if (perAddress) {
      const seconds = perAddress.hit(addressKey(request.ip));
      if (seconds > 0) return done(refuse(perAddress, 'this client address', seconds));
    }
    if (perKey) {
      // Counted by the key's name, never its secret; a wrong key is counted by its address only.
      const { key } = presentedKey(request, keys);
      if (key) {
        const seconds = perKey.hit(`key:${key.name}`);
        if (seconds > 0) return done(refuse(perKey, 'this API key', seconds));
      }
    }
    done();
  });
}
