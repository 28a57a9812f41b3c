// Configuration comes from the environment, parsed once at start with zod.
// A bad value stops the start with a message naming the variable.
import { isIP } from 'node:net';
import { z } from 'zod';
import { bareHost } from './webhooks/address-safety.js';

const ApiKeySpec = z
  .string()
  .transform((value, ctx) => {
    const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
    const keys: { name: string; secret: string; role: 'writer' | 'admin' }[] = [];
    for (const entry of entries) {
      const [name, secret, role, ...rest] = entry.split(':');
      if (rest.length > 0 || !name || !secret || (role !== 'writer' && role !== 'admin')) {
        ctx.addIssue({ code: 'custom', message: 'each entry must be name:secret:role with role writer or admin' });
        return z.NEVER;
      }
      if (secret.length < 16) {
        ctx.addIssue({ code: 'custom', message: `the secret of key "${name}" must be at least 16 characters` });
        return z.NEVER;
      }
      // A name twice: logs, event metadata, rate limits and Idempotency-Key scopes could not tell the keys apart.
      // A secret twice: the request presenting it would get whichever entry came last, maybe an admin.
      const same = keys.find((key) => key.name === name || key.secret === secret);
      if (same) {
        ctx.addIssue({
          code: 'custom',
          message: same.name === name ? `the name "${name}" is given to two keys` : `keys "${same.name}" and "${name}" have the same secret`,
        });
        return z.NEVER;
      }
      keys.push({ name, secret, role: role as 'writer' | 'admin' });
    }
    return keys;
  });

/**
 * Which proxies in front of the service to believe about the client (X-Forwarded-For) and
 * the scheme it used (X-Forwarded-Proto): Fastify's trustProxy. `false` (the default)
 * believes none; `true` every hop; a number that many hops; otherwise a comma-separated
 * list of addresses or CIDR ranges, or proxy-addr's names loopback, linklocal, uniquelocal.
 */
const ProxyNames = new Set(['loopback', 'linklocal', 'uniquelocal']);
const TrustProxy = z.string().transform((value, ctx): boolean | number | string[] => {
  const trimmed = value.trim().toLowerCase();
  if (trimmed === 'true' || trimmed === 'false') return trimmed === 'true';
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const entries = trimmed.split(',').map((s) => s.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split('/');
    const version = isIP(address);
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (version === 6 ? 128 : 32));
    if (!ProxyNames.has(entry) && (version === 0 || !prefixOk || rest.length > 0)) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not true, false, a hop count, an address, a CIDR range, loopback, linklocal or uniquelocal` });
      return z.NEVER;
    }
  }
  return entries;
});

/**
 * Hosts as a webhook URL names them (a name, an IPv4 address, an IPv6 address with or without
 * brackets), comma-separated. The allow-list is matched against the URL's host exactly, so an
 * entry with a scheme, a port, a path or a range, or an address a URL would write otherwise
 * (127.1 is 127.0.0.1), would silently match nothing: it stops the start instead.
 */
const HostList = z.string().transform((value, ctx) => {
  const hosts = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const host of hosts) {
    const bare = bareHost(host);
    let parsed: URL | undefined;
    try {
      parsed = new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`);
    } catch {
      parsed = undefined;
    }
    if (!parsed || bareHost(parsed.hostname) !== bare || parsed.port !== '' || parsed.username !== '' || bare.includes('*')) {
      const normalised = parsed && parsed.port === '' && !/[/@?#%]/.test(host) && bareHost(parsed.hostname) !== bare;
      const written = normalised ? ` (a URL writes it ${parsed!.hostname})` : '';
      ctx.addIssue({ code: 'custom', message: `"${host.slice(0, 100)}" is not a host as a URL names it${written}: list names or addresses, such as hooks.internal,10.0.0.5,::1, with no scheme, port, path, range or wildcard` });
      return z.NEVER;
    }
  }
  return hosts;
});

/**
 * Which web origins may read the API from a browser: `*` for any, or a comma-separated list
 * of origins as browsers send them (scheme, host and port if not the default; no path).
 */
const CorsOrigins = z.string().transform((value, ctx): '*' | string[] => {
  if (value.trim() === '*') return '*';
  const origins = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      ctx.addIssue({ code: 'custom', message: `"${origin.slice(0, 100)}" is not an origin such as https://news.example or http://localhost:8080 (scheme and host, no path or trailing slash), nor *` });
      return z.NEVER;
    }
  }
  return origins;
});

export const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  EVENT_STORE: z.enum(['sqlite', 'kurrentdb']).default('sqlite'),
  KURRENTDB_URL: z.string().optional(),
  API_KEYS: ApiKeySpec.optional(),
  WEBHOOK_ALLOWED_HOSTS: HostList.default([]),
  TRUST_PROXY: TrustProxy.default(false),
  /** Web origins whose pages may read the API (src/http/cors.ts); none by default. */
  CORS_ORIGINS: CorsOrigins.default([]),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Load the seed dataset into an empty store on start. */
  SEED_ON_START: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  // Limits (src/http/limits.ts). Generous by default, so tests and benchmarks are not throttled; 0 turns a rate limit off.
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1_000).default(60_000),
  RATE_LIMIT_PER_ADDRESS: z.coerce.number().int().min(0).default(600_000),
  RATE_LIMIT_PER_KEY: z.coerce.number().int().min(0).default(300_000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  CONNECTION_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(120_000),
  STREAMS_PER_ADDRESS: z.coerce.number().int().min(0).default(100),
  /** Start-up refuses a DATA_DIR with less free space than this (src/operations/data-dir-checks.ts). */
  MIN_FREE_DISK_MB: z.coerce.number().min(0).default(32),
  /** The heap a replay from POST /v1/admin/replay may use, in its own worker thread. */
  REPLAY_MEMORY_MB: z.coerce.number().int().min(16).max(65_536).default(2_048),
}).refine((c) => c.EVENT_STORE !== 'kurrentdb' || Boolean(c.KURRENTDB_URL), {
  message: 'KURRENTDB_URL is required when EVENT_STORE=kurrentdb',
  path: ['KURRENTDB_URL'],
});

export type Config = z.infer<typeof ConfigSchema>;
export type ApiKey = NonNullable<Config['API_KEYS']>[number];

/** Prefixes only this service's settings use: a variable under one that no setting reads is most likely misspelt. */
const OWN_PREFIXES = ['WEBHOOK_', 'KURRENTDB_', 'RATE_LIMIT_', 'REPLAY_', 'SEED_', 'CORS_'];

/** The variables in `env` under this service's prefixes that are none of the settings `read`, by name. */
export function unreadSettings(env: NodeJS.ProcessEnv, read: readonly string[]): string[] {
  return Object.keys(env).filter((name) => OWN_PREFIXES.some((prefix) => name.startsWith(prefix)) && !read.includes(name)).sort();
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = ConfigSchema.safeParse(defined);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
