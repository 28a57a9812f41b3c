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
  /** The last log position, the projections' checkpoint, and when the oldest event not yet applied was recorded. */
  progress(): Promise<{ head: number; applied: number; oldestUnappliedAt?: string }>;
  now(): Date;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;

  private log?: LogProgress;
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
    const logGauge = (name: string, help: string, read: (p: Awaited<ReturnType<LogProgress['progress']>>, now: Date) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          if (!self.log) return;
          this.set(read(await self.log.progress(), self.log.now()));
        },
      });
    logGauge(
      'policy_state_log_head_position',
      'Position of the last event in the log (SQLite: the number of events appended since the log began; KurrentDB: its commit position, a byte offset)',
      (p) => p.head,
    );
    logGauge('policy_state_projection_position', 'The log position the read model has applied', (p) => p.applied);
    logGauge(
      'policy_state_projection_lag_events',
      'How far the read model is behind the head of the log (SQLite: events; KurrentDB: bytes of log; 0 when caught up)',
      (p) => Math.max(0, p.head - p.applied),
    );
    logGauge(
      'policy_state_projection_lag_seconds',
      'Age of the oldest event the read model has not applied yet (0 when caught up)',
      (p, now) => (p.oldestUnappliedAt ? Math.max(0, (now.getTime() - Date.parse(p.oldestUnappliedAt)) / 1000) : 0),
    );

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
