// Sends pending deliveries and records every attempt. Each endpoint has its own
// concurrency limit and its own queue in SQLite, so an endpoint that is slow or
// refuses connections only ever holds its own slots: the others keep going.
// Outcomes are written in batches (one transaction per turn of the event
// loop); until its outcome is written a delivery stays claimed in memory, so it
// is never sent twice by this process, and after a crash it is sent again.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { DisabledReason } from '../../events/webhook-endpoint.js';
import type { DeliveryOutcome } from '../metrics/metrics.js';
import type { z } from 'zod';
import type { AttemptOutcome, DeliveryClient } from './delivery-client.js';
import { signingKeys, type Endpoint } from './endpoint.js';
import type { EndpointProjection } from './endpoint-projection.js';
import { nextDelay } from './retry-policy.js';
import type { SecretBox } from './secret-box.js';
import type { WebhookSettings } from './settings.js';
import { signatureHeader } from './signing.js';
import type { DeliveryRow, WebhookDb } from './webhook-db.js';

export interface DisableRequest {
  endpointId: string;
  reason: z.infer<typeof DisabledReason>;
  detail: string;
  failingSince?: number;
}

interface Finished {
  row: DeliveryRow;
  endpointId: string;
  at: number;
  outcome: AttemptOutcome;
}

const PRUNE_EVERY_MS = 60 * 60_000;

export class DeliveryWorker {
  /** Emits 'recorded' (delivery rows) once the outcomes of their attempts are written. */
  readonly events = new EventEmitter();
  private readonly active = new Map<string, number>();
  /** Deliveries being sent or waiting for their outcome to be written, by delivery row. */
  private readonly claimed = new Map<number, string>();
  private readonly claimedPerEndpoint = new Map<string, number>();
  private readonly disabling = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private finished: Finished[] = [];
  private flushScheduled = false;
  private totalActive = 0;
  private starved = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private timerAt = Number.POSITIVE_INFINITY;
  private tick?: NodeJS.Timeout;
  private lastPrune = 0;

  constructor(
    private readonly db: WebhookDb,
    private readonly endpoints: EndpointProjection,
    private readonly client: DeliveryClient,
    private readonly secrets: SecretBox,
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly disable: (request: DisableRequest) => Promise<void>,
    /** One call per attempt, for /metrics. */
    private readonly report: (outcome: DeliveryOutcome) => void = () => undefined,
  ) {}

  start(): void {
    this.tick = setInterval(() => this.pumpAll(), this.settings.pollIntervalMs);
    this.tick.unref();
    this.pumpAll();
  }

  /** New or newly due deliveries for these endpoints. */
  notify(endpointIds: Iterable<string>): void {
    for (const id of endpointIds) this.pump(id);
  }

  isClaimed(deliveryRow: number): boolean {
    return this.claimed.has(deliveryRow);
  }

  private pumpAll(): void {
    if (this.stopped) return;
    this.starved = false;
    for (const endpoint of this.endpoints.all()) this.pump(endpoint.id);
    const next = this.db.nextDueAfter(this.now());
    if (next !== undefined) this.wakeAt(next);
    if (this.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = this.now();
      const pruned = this.db.prune(this.now() - this.settings.logRetentionMs);
      if (pruned > 0) this.logger.info({ pruned }, 'old delivery log entries pruned');
    }
  }

  private wakeAt(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pumpAll();
    }, Math.max(0, Math.min(at - this.now(), this.settings.pollIntervalMs)));
    this.timer.unref();
  }

  private pump(endpointId: string): void {
    if (this.stopped) return;
    const endpoint = this.endpoints.get(endpointId);
    if (!endpoint) return;
    const globalFree = this.settings.maxInFlight - this.totalActive;
    if (globalFree <= 0) {
      this.starved = true;
      return;
    }
    const free = Math.min(this.settings.concurrencyPerEndpoint - (this.active.get(endpointId) ?? 0), globalFree);
    if (free <= 0) return;
    // A disabled endpoint still gets its test pings, so it can be checked before it is enabled again.
    const testsOnly = !endpoint.enabled || this.disabling.has(endpointId);
    const rows = this.db.due(endpointId, this.now(), free + (this.claimedPerEndpoint.get(endpointId) ?? 0), testsOnly);
    let started = 0;
    for (const row of rows) {
      if (started >= free) break;
      if (this.claimed.has(row.n)) continue;
      this.send(endpoint, row);
      started += 1;
    }
  }

  private send(endpoint: Endpoint, row: DeliveryRow): void {
    this.claimed.set(row.n, endpoint.id);
    this.claimedPerEndpoint.set(endpoint.id, (this.claimedPerEndpoint.get(endpoint.id) ?? 0) + 1);
    this.active.set(endpoint.id, (this.active.get(endpoint.id) ?? 0) + 1);
    this.totalActive += 1;
    const at = this.now();
    const timestamp = Math.floor(at / 1_000);
    const keys = signingKeys(endpoint, at).map((key) => this.secrets.open(key.sealed));
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'policy-state-webhooks/1',
      'webhook-id': row.message_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(keys, row.message_id, timestamp, row.payload),
    };
    const attempt = this.client.post(endpoint.url, headers, row.payload, this.shutdown.signal).then((outcome) => {
      this.active.set(endpoint.id, (this.active.get(endpoint.id) ?? 1) - 1);
      this.totalActive -= 1;
      this.finished.push({ row, endpointId: endpoint.id, at, outcome });
      this.scheduleFlush();
    });
    this.inFlight.add(attempt);
    void attempt.finally(() => this.inFlight.delete(attempt));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.finished;
    this.finished = [];
    if (batch.length === 0) return;
    const disables = new Map<string, DisableRequest>();
    let earliestRetry = Number.POSITIVE_INFINITY;
    try {
      this.db.transaction(() => {
        for (const { row, endpointId, at, outcome } of batch) {
          if (outcome.interrupted) continue;
          const done = at + outcome.durationMs;
          this.db.insertAttempt({
            delivery: row.n,
            at,
            statusCode: outcome.statusCode,
            durationMs: outcome.durationMs,
            error: outcome.error,
            response: outcome.responseStart,
          });
          const status = outcome.statusCode;
          if (status !== null && status >= 200 && status < 300) {
            this.db.settle(row.n, 'succeeded', done);
            this.db.succeeded(endpointId, done);
            this.report('succeeded');
            continue;
          }
          const failingSince = this.db.failed(endpointId, at);
          if (status === 410) {
            this.db.settle(row.n, 'failed', done);
            disables.set(endpointId, { endpointId, reason: 'gone', detail: 'the endpoint answered 410 Gone', failingSince });
            this.report('gone');
            continue;
          }
          const delay = nextDelay(this.settings, { step: row.step + 1, statusCode: status, retryAfterMs: outcome.retryAfterMs });
          if (delay === null) {
            this.db.settle(row.n, 'failed', done);
            this.report('abandoned');
          } else {
            this.db.reschedule(row.n, row.step + 1, done + delay, done);
            earliestRetry = Math.min(earliestRetry, done + delay);
            this.report(outcome.timedOut ? 'timed-out' : 'failed');
          }
          if (done - failingSince >= this.settings.disableAfterMs && !disables.has(endpointId)) {
            const days = ((done - failingSince) / 86_400_000).toFixed(2);
            disables.set(endpointId, { endpointId, reason: 'failing', detail: `every attempt failed for ${days} days (since ${new Date(failingSince).toISOString()})`, failingSince });
          }
        }
      });
    } catch (error) {
      // The outcomes are lost, not the deliveries: they stay pending and are attempted again.
      this.logger.error({ err: error }, 'recording delivery attempts failed');
    }
    for (const { row, endpointId } of batch) {
      this.claimed.delete(row.n);
      this.claimedPerEndpoint.set(endpointId, (this.claimedPerEndpoint.get(endpointId) ?? 1) - 1);
    }
    this.events.emit('recorded', batch.map((f) => f.row.n));
    if (this.starved) this.pumpAll();
    else this.notify(new Set(batch.map((f) => f.endpointId)));
    if (earliestRetry < Number.POSITIVE_INFINITY) this.wakeAt(earliestRetry);
    for (const request of disables.values()) this.requestDisable(request);
  }

  private requestDisable(request: DisableRequest): void {
    if (this.stopped || this.disabling.has(request.endpointId) || !this.endpoints.get(request.endpointId)?.enabled) return;
    this.disabling.add(request.endpointId);
    this.logger.warn({ event: 'endpoint.disabled', ...request }, 'disabling a webhook endpoint');
    this.disable(request)
      .catch((error) => this.logger.error({ err: error, endpointId: request.endpointId }, 'disabling the endpoint failed'))
      .finally(() => this.disabling.delete(request.endpointId));
  }

  /** Stops taking deliveries, lets those in flight finish within the grace period, then aborts the rest (they stay pending). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tick) clearInterval(this.tick);
    if (this.timer) clearTimeout(this.timer);
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.settings.shutdownGraceMs)));
      await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
      clearTimeout(timer);
    }
    this.shutdown.abort();
    await Promise.allSettled([...this.inFlight]);
    this.flush();
    await this.client.close();
  }
}
