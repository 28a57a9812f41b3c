// What operators see at GET /metrics: the log, the projections' lag, HTTP
// latency by route, and webhook delivery. One Metrics object per service (a
// prom-client Registry of its own, so two services in one process, as in the
// tests, never share or clash), built in the composition root. Other parts of
// the service report through the small methods below, not through prom-client.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How one webhook delivery attempt ended. */
export type DeliveryOutcome =
  /** 2xx within the timeout. */
  | 'succeeded'
  /** Any other answer or a network error; it will be retried. */
  | 'failed'
  /** No answer within the timeout; it will be retried. */
  | 'timed-out'
  /** 410 Gone: the endpoint is disabled. */
  | 'gone'
  /** The last retry failed, or the endpoint was disabled: the delivery is given up. */
  | 'abandoned';

const DELIVERY_OUTCOMES: readonly DeliveryOutcome[] = ['succeeded', 'failed', 'timed-out', 'gone', 'abandoned'];

/** Where the projections stand against the log; read at each scrape. */
export interface LogProgress {
  /** The log position the read model has applied: local, always known. */
  applied(): number;
  /**
   * The last log position, and when the oldest event after `applied` was recorded. Asks the
   * event store, so it rejects while the store cannot be reached (KurrentDB down).
   */
  head(applied: number): Promise<{ head: number; oldestUnappliedAt?: string }>;
  now(): Date;
}

/** One look at the log, shared by the gauges of a scrape; `head` is absent when the store did not answer. */
interface LogSnapshot {
  applied: number;
  head?: number;
  oldestUnappliedAt?: string;
  now: Date;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;

  private log?: LogProgress;
  private reading?: Promise<LogSnapshot | undefined>;
  private pending?: () => number | Promise<number>;
  private dispatchStopped?: () => boolean;

  private readonly httpDuration = new Histogram({
    name: 'policy_state_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern (not the raw URL), method and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly deliveries = new Counter({
    name: 'policy_state_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    // prom-client calls collect() with `this` bound to the metric, so the registry is reached through `self`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    collectDefaultMetrics({ register: this.registry });
    for (const outcome of DELIVERY_OUTCOMES) this.deliveries.labels(outcome).inc(0);

    // The log gauges are read when scraped, so they are never stale and cost nothing between scrapes.
    // A value that needs the event store is left out of a scrape it did not answer (no sample, rather
    // than a stale or made-up one), and policy_state_event_store_up says why; the rest is served.
    const logGauge = (name: string, help: string, read: (p: LogSnapshot) => number | undefined) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          const snapshot = await self.readLog();
          if (!snapshot) return;
          const value = read(snapshot);
          if (value === undefined) this.remove();
          else this.set(value);
        },
      });
    logGauge(
      'policy_state_log_head_position',
      'Position of the last event in the log (SQLite: the number of events appended since the log began; KurrentDB: its commit position, a byte offset); absent while the event store cannot be reached',
      (p) => p.head,
    );
    logGauge('policy_state_projection_position', 'The log position the read model has applied', (p) => p.applied);
    logGauge(
      'policy_state_projection_lag_events',
      'How far the read model is behind the head of the log (SQLite: events; KurrentDB: bytes of log; 0 when caught up); absent while the event store cannot be reached',
      (p) => (p.head === undefined ? undefined : Math.max(0, p.head - p.applied)),
    );
    logGauge(
      'policy_state_projection_lag_seconds',
      'Age of the oldest event the read model has not applied yet (0 when caught up); absent while the event store cannot be reached',
      (p) => (p.head === undefined ? undefined : p.oldestUnappliedAt ? Math.max(0, (p.now.getTime() - Date.parse(p.oldestUnappliedAt)) / 1000) : 0),
    );
    logGauge('policy_state_event_store_up', 'Whether the event store answered this scrape (1) or could not be reached (0)', (p) => (p.head === undefined ? 0 : 1));

    new Gauge({
      name: 'policy_state_webhook_pending_deliveries',
      help: 'Webhook deliveries waiting to be sent or retried',
      registers: [this.registry],
      async collect() {
        this.set(self.pending ? await self.pending() : 0);
      },
    });

    new Gauge({
      name: 'policy_state_webhook_dispatch_stopped',
      help: 'Whether webhook delivery stopped on this replica on an error no retry cures (1: see /health/ready and the logs)',
      registers: [this.registry],
      collect() {
        this.set(self.dispatchStopped?.() ? 1 : 0);
      },
    });
  }

  /** Follow the log and the projections (the service calls this once). */
  watchLog(log: LogProgress): void {
    this.log = log;
  }

  /**
   * One read of the log for all the gauges of a scrape (prom-client collects them at once), so
   * they agree with each other and the store is asked once. Never rejects: a scrape must still
   * answer when the store does not, which is when an operator needs it most.
   */
  private readLog(): Promise<LogSnapshot | undefined> {
    const log = this.log;
    if (!log) return Promise.resolve(undefined);
    return (this.reading ??= (async () => {
      const applied = log.applied();
      try {
        return { applied, ...(await log.head(applied)), now: log.now() };
      } catch {
        return { applied, now: log.now() };
      }
    })().finally(() => (this.reading = undefined)));
  }

  observeRequest(labels: { method: string; route: string; statusCode: number }, seconds: number): void {
    this.httpDuration.observe({ method: labels.method, route: labels.route, status_code: String(labels.statusCode) }, seconds);
  }

  /** For the webhook dispatcher: one call per delivery attempt. */
  deliveryAttempted(outcome: DeliveryOutcome): void {
    this.deliveries.labels(outcome).inc();
  }

  /** For the webhooks: whether they stopped by themselves; called at each scrape. */
  watchWebhookDispatch(stopped: () => boolean): void {
    this.dispatchStopped = stopped;
  }

  /** For the webhook dispatcher: how to count pending deliveries; called at each scrape. */
  countPendingDeliveriesWith(count: () => number | Promise<number>): void {
    this.pending = count;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
