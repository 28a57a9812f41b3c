// Change webhooks, assembled from their parts: the endpoint projection and the
// delivery queue in webhooks.db, the dispatch source (the change feed on the
// embedded store, a persistent subscription group shared by the replicas on
// KurrentDB: see dispatch-source.ts), and the worker that delivers.
// The composition root builds one of these; the routes use its queries.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import type { ReadModel } from '../read-model/read-model.js';
import type { EventStore } from '../store/event-store.js';
import { AddressPolicy, type Resolver } from './address-safety.js';
import { ChangeFeed } from './change-feed.js';
import type { ChangeCursor } from '../read-model/change-cursor.js';
import { DeliveryClient } from './delivery-client.js';
import { DeliveryWorker } from './delivery-worker.js';
import type { ConsumerGroup } from '../store/kurrentdb/group.js';
import type { DispatchSource } from './dispatch-source.js';
import { Dispatcher } from './dispatcher.js';
import { PersistentDispatch } from './persistent-dispatch.js';
import type { Endpoint } from './endpoint.js';
import { EndpointProjection } from './endpoint-projection.js';
import { EndpointService } from './endpoint-service.js';
import { testBody } from './payload.js';
import { Replays, type ReplayOutcome } from './replay.js';
import { SecretBox } from './secret-box.js';
import type { WebhookSettings } from './settings.js';
import { deliveryId, WebhookDb, type AttemptRow, type DeliveryRow, type DeliveryStatus, type Outgoing } from './webhook-db.js';

/** Where a service keeps its webhook state: deliveries, attempts, the endpoints' projection. */
export const webhooksFileIn = (dataDir: string): string => path.join(dataDir, 'webhooks.db');

export interface WebhooksOptions {
  store: EventStore;
  readModel: ReadModel;
  settings: WebhookSettings;
  /** WEBHOOK_ALLOWED_HOSTS. */
  allowedHosts: readonly string[];
  dataDir: string;
  logger: Logger;
  now: () => number;
  /** DNS resolution; tests replace it to stage a rebinding. */
  resolve?: Resolver;
  /** Where delivery outcomes and the pending count are reported (GET /metrics). */
  metrics?: Pick<Metrics, 'deliveryAttempted' | 'countPendingDeliveriesWith' | 'watchWebhookDispatch'>;
  /**
   * A persistent subscription group shared with the other replicas (KurrentDB): it
   * decides which replica dispatches each log event's changes. Without it (the
   * embedded store, one process) the dispatcher follows the change feed.
   */
  dispatchGroup?: ConsumerGroup;
}

/** What a caller of startService may change: settings beyond the environment, and DNS (for tests). */
export interface WebhookOverrides {
  settings?: Partial<WebhookSettings>;
  resolve?: Resolver;
}

export interface EndpointHealth {
  pending: number;
  failingSince: number | null;
  lastSuccessAt: number | null;
  /** False when its current secret cannot be opened with this service's key: nothing is sent until it is rotated. */
  secretReadable: boolean;
  /** Until when it is sent nothing but test pings, as its receiver asked (Retry-After); in this process's memory. */
  heldUntil: number | null;
}

export type RetryOutcome = { delivery: DeliveryRow } | { notFound: true } | { inFlight: true } | { endpointDisabled: true };

export class Webhooks {
  readonly db: WebhookDb;
  readonly feed: ChangeFeed;
  readonly endpoints: EndpointProjection;
  readonly commands: EndpointService;
  private readonly worker: DeliveryWorker;
  private readonly replays: Replays;
  readonly dispatcher: DispatchSource;
  readonly settings: WebhookSettings;
  private readonly box: SecretBox;
  /** The service's clock (ms). */
  readonly now: () => number;
  private started = false;
  private closed = false;

  constructor(options: WebhooksOptions) {
    const { store, readModel, settings, logger, now } = options;
    this.now = now;
    this.settings = settings;
    this.db = new WebhookDb(webhooksFileIn(options.dataDir));
    this.feed = new ChangeFeed(() => readModel.file, readModel.events);
    const box = SecretBox.load(options.dataDir, settings.secretsKey);
    this.box = box;
    if (box.createdFile) {
      logger.info({ file: box.createdFile }, 'created the webhook secrets key: back it up with the data (endpoint secrets sealed under another key must be rotated)');
    }
    const policy = new AddressPolicy(options.allowedHosts, options.resolve);
    const metrics = options.metrics;
    this.endpoints = new EndpointProjection(store, this.db, logger, (count) => {
      for (let i = 0; i < count; i++) metrics?.deliveryAttempted('abandoned');
    });
    this.commands = new EndpointService(store, this.endpoints, box, policy, settings.rotationOverlapMs, now, (id, since) => this.replayAfter(id, since));
    this.worker = new DeliveryWorker(
      this.db,
      this.endpoints,
      new DeliveryClient(policy, settings.timeoutMs, now),
      box,
      settings,
      logger,
      now,
      (request) => this.commands.disable(request),
      (outcome) => metrics?.deliveryAttempted(outcome),
    );
    this.replays = new Replays(this.db, this.feed, this.endpoints, this.worker, logger);
    metrics?.countPendingDeliveriesWith(() => (this.closed ? 0 : this.db.pendingTotal()));
    metrics?.watchWebhookDispatch(() => this.failure() !== undefined);
    const room = (endpointId: string) => this.worker.room(endpointId);
    const created = (rows: Outgoing[], waitingIn: ReadonlySet<string>) => this.worker.offer(rows, waitingIn);
    this.dispatcher = options.dispatchGroup
      ? new PersistentDispatch({
          group: options.dispatchGroup,
          store,
          db: this.db,
          feed: this.feed,
          endpoints: this.endpoints,
          readModel,
          room,
          created,
          logger,
          now,
          replicaId: this.replicaId(settings.replicaId),
          leaseMs: settings.dispatchLeaseMs,
          pollIntervalMs: settings.pollIntervalMs,
        })
      : new Dispatcher(this.db, this.feed, this.endpoints, readModel.events, room, created, logger, now, settings.pollIntervalMs);
  }

  /** This replica's name in the dispatch journal: as configured, or made up once and kept in webhooks.db. */
  private replicaId(configured: string | undefined): string {
    if (configured) return configured;
    let id = this.db.meta('replica_id');
    if (!id) {
      id = `r${randomBytes(6).toString('hex')}`;
      this.db.setMeta('replica_id', id);
    }
    return id;
  }

  start(): void {
    this.started = true;
    this.endpoints.start();
    this.replays.resume();
    this.dispatcher.start();
    this.worker.start();
  }

  /** Stops dispatching, lets deliveries in flight finish (within the grace period), and closes webhooks.db. */
  async stop(): Promise<void> {
    if (this.started) {
      await this.replays.stop();
      await this.dispatcher.stop();
      await this.worker.stop();
      await this.endpoints.stop();
    }
    this.closed = true;
    this.feed.close();
    this.db.close();
  }

  /**
   * Why webhooks stopped on this replica by themselves, if they did (the endpoint
   * projection or the dispatch on an error no retry cures): /health/ready and the metric
   * policy_state_webhook_dispatch_stopped report it.
   */
  failure(): string | undefined {
    const error = this.endpoints.failure ?? this.dispatcher.failure;
    return error && `webhooks stopped: ${error.message}`;
  }

  health(endpointId: string): EndpointHealth {
    const status = this.db.status(endpointId);
    return {
      pending: this.db.pendingCount(endpointId),
      failingSince: status?.failing_since ?? null,
      lastSuccessAt: status?.last_success_at ?? null,
      secretReadable: this.secretReadable(endpointId),
      heldUntil: this.heldUntil(endpointId),
    };
  }

  /** Until when the endpoint's receiver asked (Retry-After) to be sent nothing; null when it did not. */
  heldUntil(endpointId: string): number | null {
    return this.worker.heldTill(endpointId) ?? null;
  }

  /** Whether the endpoint's current secret can be opened with this service's key (so deliveries can be signed). */
  secretReadable(endpointId: string): boolean {
    const endpoint = this.endpoints.get(endpointId);
    return endpoint === undefined || this.box.canOpen(endpoint.secrets[0].sealed);
  }

  deliveries(endpointId: string, query: { before?: number; status?: Exclude<DeliveryStatus, 'sending'>; limit: number }): Array<DeliveryRow & { attemptLog: AttemptRow[] }> {
    const rows = this.db.deliveries(endpointId, query);
    const attempts = this.db.attemptsOf(rows.map((r) => r.n));
    return rows.map((row) => ({ ...row, attemptLog: attempts.filter((a) => a.delivery === row.n) }));
  }

  delivery(endpointId: string, id: string): (DeliveryRow & { attemptLog: AttemptRow[] }) | undefined {
    const row = this.db.delivery(endpointId, id);
    return row && { ...row, attemptLog: this.db.attemptsOf([row.n]) };
  }

  /**
   * Sends a delivery again now, with a fresh retry schedule, whatever its state. Not while its
   * endpoint is disabled (nothing but test pings goes to it then): refused, as a replay is,
   * rather than queued to wait unseen until it is enabled again.
   */
  retry(endpointId: string, id: string): RetryOutcome {
    const row = this.db.delivery(endpointId, id);
    if (!row) return { notFound: true };
    if (row.origin !== 'test' && this.endpoints.get(endpointId)?.enabled === false) return { endpointDisabled: true };
    if (this.worker.isClaimed(row.n)) return { inFlight: true };
    this.db.retryNow(row.n, this.now());
    this.worker.notify([endpointId]);
    return { delivery: this.db.delivery(endpointId, id)! };
  }

  /**
   * Queues again every change after log position `after` that the endpoint's filters take,
   * up to what the dispatcher has reached (later changes go out live), and resolves once all
   * are queued: written in batches that let other work go on (replay.ts). The webhook-id stays
   * the change id, so a receiver can dedupe, and each carries the sequence number it has
   * for this endpoint (the same on every replica; changes made while it was disabled were
   * numbered too), or null for a change the endpoint never had numbered (from before it
   * existed, or one its filters then left out): replays do not move the live numbering,
   * which every replica must keep alike.
   */
  replay(endpoint: Endpoint, after: ChangeCursor): Promise<ReplayOutcome> {
    return this.replays.replay(endpoint.id, after, this.now());
  }

  /** Queues a `webhook.test` delivery and waits (up to `waitMs`) for its first attempt. */
  async ping(endpointId: string, waitMs: number): Promise<DeliveryRow & { attemptLog: AttemptRow[] }> {
    const at = this.now();
    const messageId = `msg_test_${randomBytes(12).toString('base64url')}`;
    const n = this.db.transaction(() => {
      this.db.putPayload(messageId, testBody(endpointId, at));
      return this.db.insertDelivery({ endpointId, origin: 'test', messageId, type: 'webhook.test', position: null, sequence: null, at })!;
    });
    const id = deliveryId(n);
    const row = this.db.delivery(endpointId, id)!;
    await new Promise<void>((resolve) => {
      const onRecorded = (rows: number[]) => {
        if (!rows.includes(row.n)) return;
        done();
      };
      const timer = setTimeout(() => done(), waitMs);
      const done = () => {
        clearTimeout(timer);
        this.worker.events.off('recorded', onRecorded);
        resolve();
      };
      this.worker.events.on('recorded', onRecorded);
      this.worker.notify([endpointId]);
    });
    return this.delivery(endpointId, id)!;
  }

  /**
   * Where a replay should start so the endpoint gets everything it has not received: every
   * change still waiting, and every one given up on while it has been failing (disabled by
   * hand, since its failing began, if it is failing). A replay sends the changes after the
   * position it is given, so one below the earliest missed.
   */
  private replayAfter(endpointId: string, failingSince?: number): number {
    const since = failingSince ?? this.db.status(endpointId)?.failing_since ?? this.now();
    const missed = this.db.earliestMissed(endpointId, since);
    return missed !== undefined ? missed - 1 : this.db.checkpoint('dispatch_position');
  }
}
