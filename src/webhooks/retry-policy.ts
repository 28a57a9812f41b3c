// When a failed delivery is tried again. The schedule gives the delay before
// each attempt (the first is immediate); each delay is spread by jitter so the
// retries of many deliveries that failed together do not arrive together. On
// 429 and 503 a Retry-After means "not before then": it can push an attempt
// later than the schedule says, never sooner, so a receiver that keeps asking
// for a short wait does not spend the schedule (about 28 hours) in seconds.
import type { WebhookSettings } from './settings.js';

/** A receiver cannot park a delivery for longer than this with Retry-After (the schedule's own delay still applies). */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60_000;

/**
 * The longest an endpoint that keeps failing can go without an attempt, twice over: the longest
 * wait the schedule (with jitter) or a Retry-After can ask for, plus the attempt's timeout. A
 * longer spell with no attempt means no traffic, which says nothing of failing: a failure after
 * one does not disable the endpoint at once, though it has had no success for days; its delivery
 * gets its whole schedule first (delivery-worker.ts).
 */
export function quietSpellMs(settings: Pick<WebhookSettings, 'retryScheduleMs' | 'retryJitter' | 'timeoutMs'>): number {
  const longestWait = Math.max(MAX_RETRY_AFTER_MS, ...settings.retryScheduleMs.map((ms) => ms * (1 + settings.retryJitter)));
  return 2 * (longestWait + settings.timeoutMs);
}

export interface FailedAttempt {
  /** Attempts made so far in the current schedule (1 after the first). */
  step: number;
  statusCode: number | null;
  retryAfterMs: number | null;
}

/** Milliseconds until the next attempt, or null when the schedule is spent. */
export function nextDelay(
  settings: Pick<WebhookSettings, 'retryScheduleMs' | 'retryJitter'>,
  failed: FailedAttempt,
  random: () => number = Math.random,
): number | null {
  if (failed.step >= settings.retryScheduleMs.length) return null;
  const base = settings.retryScheduleMs[failed.step];
  const scheduled = Math.round(base * (1 - settings.retryJitter + 2 * settings.retryJitter * random()));
  const asked = askedToWaitMs(failed);
  return asked === null ? scheduled : Math.max(asked, scheduled);
}

/**
 * How long a receiver asked, with Retry-After on a 429 or a 503, to be sent nothing (capped);
 * null when it did not. The whole endpoint waits that long, not only the delivery that got it.
 */
export function askedToWaitMs(failed: Pick<FailedAttempt, 'statusCode' | 'retryAfterMs'>): number | null {
  if ((failed.statusCode !== 429 && failed.statusCode !== 503) || failed.retryAfterMs === null) return null;
  return Math.min(failed.retryAfterMs, MAX_RETRY_AFTER_MS);
}
