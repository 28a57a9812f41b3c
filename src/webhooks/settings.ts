// How webhook delivery behaves, from WEBHOOK_* environment variables (parsed
// with zod like src/config.ts). Tests and the benchmark pass overrides so a
// five-day rule or a ten-hour retry can be exercised in milliseconds.
import { ConfigError } from '../config.js';
import { z } from 'zod';
import { ReplicaId } from '../../events/webhook-dispatch.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours. */
export const DEFAULT_RETRY_SCHEDULE_MS = [0, 5_000, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];

const Millis = z.coerce.number().int().min(0);
const MillisList = z
  .string()
  .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'must be a comma-separated list of milliseconds, e.g. "0,5000,300000"')
  .transform((v) => v.split(',').map((s) => Number(s.trim())));

export const WebhookEnvSchema = z.object({
  /** Delay before attempt n+1, n = 0..; its length is the number of attempts. */
  WEBHOOK_RETRY_SCHEDULE_MS: MillisList.optional(),
  /** Each retry delay is spread by up to ± this fraction. */
  WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).max(1).default(0.2),
  WEBHOOK_TIMEOUT_MS: Millis.min(1).default(15_000),
  WEBHOOK_DISABLE_AFTER_MS: Millis.min(1).default(5 * DAY),
  WEBHOOK_ROTATION_OVERLAP_MS: Millis.default(DAY),
  WEBHOOK_CONCURRENCY_PER_ENDPOINT: z.coerce.number().int().min(1).max(256).default(8),
  WEBHOOK_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(1_024),
  /** How long a shutdown waits for deliveries in flight before it aborts them (they stay pending). */
  WEBHOOK_SHUTDOWN_GRACE_MS: Millis.default(5_000),
  /** Delivery log entries in a final state older than this are pruned. */
  WEBHOOK_LOG_RETENTION_MS: Millis.min(1).default(30 * DAY),
  /** KurrentDB replicas: this replica's name in the dispatch journal; generated and kept in webhooks.db when unset. */
  WEBHOOK_REPLICA_ID: ReplicaId.optional(),
  /** KurrentDB replicas: how long a replica's pending deliveries stay its own without a word from it before another takes them over. */
  WEBHOOK_DISPATCH_LEASE_MS: Millis.min(1_000).default(60_000),
  /** base64 of 32 bytes; when unset the key lives in DATA_DIR/webhook-secrets.key, created on first start. */
  WEBHOOK_SECRETS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes in base64')
    .optional(),
});

export interface WebhookSettings {
  retryScheduleMs: number[];
  retryJitter: number;
  timeoutMs: number;
  disableAfterMs: number;
  rotationOverlapMs: number;
  concurrencyPerEndpoint: number;
  maxInFlight: number;
  shutdownGraceMs: number;
  logRetentionMs: number;
  secretsKey?: string;
  replicaId?: string;
  dispatchLeaseMs: number;
  /** How often idle loops look again (the safety net behind the wake-ups). */
  pollIntervalMs: number;
}

export function loadWebhookSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<WebhookSettings> = {}): WebhookSettings {
  const defined = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('WEBHOOK_') && v !== undefined && v !== ''));
  const result = WebhookEnvSchema.safeParse(defined);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid webhook configuration:\n${lines.join('\n')}`);
  }
  const e = result.data;
  return {
    retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE_MS ?? DEFAULT_RETRY_SCHEDULE_MS,
    retryJitter: e.WEBHOOK_RETRY_JITTER,
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    disableAfterMs: e.WEBHOOK_DISABLE_AFTER_MS,
    rotationOverlapMs: e.WEBHOOK_ROTATION_OVERLAP_MS,
    concurrencyPerEndpoint: e.WEBHOOK_CONCURRENCY_PER_ENDPOINT,
    maxInFlight: e.WEBHOOK_MAX_IN_FLIGHT,
    shutdownGraceMs: e.WEBHOOK_SHUTDOWN_GRACE_MS,
    logRetentionMs: e.WEBHOOK_LOG_RETENTION_MS,
    secretsKey: e.WEBHOOK_SECRETS_KEY,
    replicaId: e.WEBHOOK_REPLICA_ID,
    dispatchLeaseMs: e.WEBHOOK_DISPATCH_LEASE_MS,
    pollIntervalMs: 1_000,
    ...overrides,
  };
}
