// Turns the change feed into pending deliveries: one per endpoint that wants
// the change, written in one transaction with the feed checkpoint, so a crash
// never loses a change nor creates its deliveries twice. A change is only
// dispatched once the endpoint projection has reached its log position, so an
// endpoint created just before a change is sure to be considered for it.
import type { EventEmitter } from 'node:events';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Change } from '../../projections/changes.js';
import type { ChangeFeed, FeedChange } from './change-feed.js';
import type { DispatchSource } from './dispatch-source.js';
import { wants } from './endpoint.js';
import type { EndpointProjection } from './endpoint-projection.js';
import { changeBodyPrefix } from './payload.js';
import type { Outgoing, WebhookDb } from './webhook-db.js';

/**
 * Deliveries created per transaction, about: small enough that sending keeps going
 * between transactions (the event loop is not held for long), large enough to batch.
 */
const DELIVERIES_PER_STEP = 2_000;

/**
 * Creates, in the caller's transaction, a live delivery of each change to each
 * enabled endpoint that wants it, with the endpoint's next sequence numbers. A
 * change made while an endpoint was disabled is numbered too and recorded
 * cancelled: the receiver sees the gap once it is enabled again, and a replay
 * fills it with those numbers. A change already delivered live to an endpoint
 * is not queued again. Stops at
 * the change that takes the count past `maxRows`; `taken` says how many
 * changes it went through (at least one when there is any). With `standby`
 * (KurrentDB replicas) the numbered deliveries wait on standby instead, until
 * this replica is given their log event (`promote`).
 */
export function queueLive(
  db: WebhookDb,
  projection: EndpointProjection,
  changes: readonly Change[],
  room: (endpointId: string) => number,
  at: number,
  maxRows = Number.POSITIVE_INFINITY,
  standby = false,
): { rows: Outgoing[]; waiting: Set<string>; taken: number } {
  const queue = new Queue(db, room, at, (endpointId) => projection.get(endpointId)?.enabled === true);
  const sequences = new Map<string, number>();
  let count = 0;
  // Every row written counts, whether it goes to memory, waits in webhooks.db, waits on standby or
  // records a change missed while disabled: the transaction's size is what the limit bounds.
  let written = 0;
  for (const change of changes) {
    if (written >= maxRows) break;
    count += 1;
    let body: string | undefined;
    // As the endpoints were at the change: the endpoint projection may have gone further.
    for (const endpoint of projection.asOf(change.position)) {
      if (!wants(endpoint, change)) continue;
      if (body === undefined) {
        body = changeBodyPrefix(change);
        db.putPayload(change.id, body);
      }
      const sequence = (sequences.get(endpoint.id) ?? db.lastSequence(endpoint.id)) + 1;
      const delivery = { endpointId: endpoint.id, messageId: change.id, type: change.type, position: change.position, sequence, at };
      // Already delivered live once (or on standby): keep the sequence without a gap. One missed
      // while disabled is the same on every replica, so it needs no standby: it is never sent live.
      const added = !endpoint.enabled ? queue.missed(delivery) : standby ? db.insertStandby(delivery) : queue.add(delivery, body);
      if (!added) continue;
      written += 1;
      sequences.set(endpoint.id, sequence);
    }
  }
  for (const [endpointId, sequence] of sequences) db.setLastSequence(endpointId, sequence);
  return { rows: queue.rows, waiting: queue.waiting, taken: count };
}

/**
 * Turns the standby rows of these changes into live deliveries, in the caller's
 * transaction, keeping the sequence numbers they were given.
 */
export function promote(
  db: WebhookDb,
  projection: EndpointProjection,
  messageIds: readonly string[],
  room: (endpointId: string) => number,
  at: number,
): { rows: Outgoing[]; waiting: Set<string> } {
  const queue = new Queue(db, room, at, (endpointId) => projection.get(endpointId)?.enabled === true);
  for (const messageId of messageIds) {
    const standby = db.takeStandby(messageId);
    const body = standby.length > 0 ? db.payload(messageId) : undefined;
    for (const delivery of standby) queue.add({ ...delivery, at }, body!);
  }
  return { rows: queue.rows, waiting: queue.waiting };
}

/**
 * New live deliveries: straight to the worker's memory while the endpoint's queue has
 * room, otherwise waiting in webhooks.db. One for an endpoint disabled or deleted since
 * the change (its pending deliveries were cancelled then) is recorded cancelled, with its
 * number, as it would have been had it been queued in time.
 */
class Queue {
  readonly rows: Outgoing[] = [];
  readonly waiting = new Set<string>();
  private readonly taken = new Map<string, number>();

  constructor(
    private readonly db: WebhookDb,
    private readonly room: (endpointId: string) => number,
    private readonly at: number,
    private readonly enabledNow: (endpointId: string) => boolean,
  ) {}

  add(delivery: NumberedDelivery, body: string): boolean {
    if (!this.enabledNow(delivery.endpointId)) return this.missed(delivery);
    const toMemory = (this.taken.get(delivery.endpointId) ?? 0) < this.room(delivery.endpointId);
    const status = toMemory ? ('sending' as const) : ('pending' as const);
    const n = this.db.insertDelivery({ ...delivery, origin: 'live', at: this.at, status });
    if (n === undefined) return false;
    if (toMemory) {
      this.taken.set(delivery.endpointId, (this.taken.get(delivery.endpointId) ?? 0) + 1);
      this.rows.push({ n, endpoint_id: delivery.endpointId, message_id: delivery.messageId, sequence: delivery.sequence, step: 0, body });
    } else this.waiting.add(delivery.endpointId);
    return true;
  }

  /** A change the endpoint was disabled for: its number is taken, and it is recorded cancelled. */
  missed(delivery: NumberedDelivery): boolean {
    return this.db.insertDelivery({ ...delivery, origin: 'live', at: this.at, status: 'cancelled' }) !== undefined;
  }
}

type NumberedDelivery = { endpointId: string; messageId: string; type: string; position: number; sequence: number; at: number };

/**
 * The embedded store's dispatch source: follows this process's change feed from its checkpoint.
 * On KurrentDB it runs on standby inside PersistentDispatch, numbering every change.
 */
export class Dispatcher implements DispatchSource {
  private stopped = false;
  private wake?: () => void;
  private loop?: Promise<void>;
  private readonly onSignal = () => this.wake?.();
  failure?: Error;

  constructor(
    private readonly db: WebhookDb,
    private readonly feed: ChangeFeed,
    private readonly endpoints: EndpointProjection,
    /** The read model's emitter: 'changes' after each commit. */
    private readonly readModelEvents: EventEmitter,
    /** How many more deliveries an endpoint's queue in memory takes now. */
    private readonly room: (endpointId: string) => number,
    /** The deliveries created 'sending', once committed: they go straight to the worker's queues. */
    private readonly created: (deliveries: Outgoing[], waitingIn: ReadonlySet<string>) => void,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly pollIntervalMs: number,
    private readonly batchSize = 200,
    /** KurrentDB replicas: number every change, but leave it on standby (see queueLive). */
    private readonly standby = false,
  ) {}

  start(): void {
    this.readModelEvents.on('changes', this.onSignal);
    this.endpoints.events.on('applied', this.onSignal);
    this.loop = this.run().catch((error) => {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.logger.error({ err: error }, 'the webhook dispatcher stopped; changes wait in the feed at its checkpoint');
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.step() > 0) {
        await yieldToLoop(); // let deliveries start between batches
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Dispatches the next batch of changes; returns how many changes it took. */
  step(): number {
    this.followRebuilds();
    const limit = this.endpoints.checkpoint();
    const ready: FeedChange[] = [];
    for (const change of this.feed.after(this.db.checkpoint('dispatch_seq'), this.batchSize)) {
      if (change.position > limit) break;
      ready.push(change);
    }
    if (ready.length === 0) return 0;
    const at = this.now();
    let last = ready[0];
    const waiting = new Set<string>();
    const created = this.db.transaction(() => {
      const queued = queueLive(this.db, this.endpoints, ready, this.room, at, DELIVERIES_PER_STEP, this.standby);
      last = ready[queued.taken - 1];
      for (const endpointId of queued.waiting) waiting.add(endpointId);
      this.db.setCheckpoint('dispatch_seq', last.seq);
      this.db.setCheckpoint('dispatch_position', last.position);
      return queued.rows;
    });
    if (created.length > 0 || waiting.size > 0) this.created(created, waiting);
    return ready.length;
  }

  /**
   * A rebuilt read model (a new projection version) may number its changes
   * differently, so a checkpoint by number means nothing in it. Start again just
   * before the changes of the last position dispatched: those already sent are
   * recognised by their ids and not sent twice, and nothing after is skipped.
   */
  private followRebuilds(): void {
    this.feed.after(0, 0); // lets the feed notice a swap and reopen
    if (this.feed.generation === this.feedGeneration) return;
    this.feedGeneration = this.feed.generation;
    const position = this.db.checkpoint('dispatch_position');
    this.db.setCheckpoint('dispatch_seq', this.feed.seqBefore(Math.max(0, position - 1)));
  }

  private feedGeneration = 0;

  async stop(): Promise<void> {
    this.stopped = true;
    this.readModelEvents.off('changes', this.onSignal);
    this.endpoints.events.off('applied', this.onSignal);
    this.wake?.();
    await this.loop;
  }
}
