// What a KurrentDB replica has taken on to deliver, kept in the log where the
// other replicas can read it, so that a replica that dies for good does not take
// its pending retries with it.
//
// The persistent subscription group hands each log event to one replica. Before
// that replica acks it, it appends `WebhookDispatchClaimed` to its own stream
// `webhook-dispatcher-<replicaId>`; once every delivery of the event's changes
// has settled (delivered, given up, cancelled) it appends
// `WebhookDispatchSettled`. Every such event renews its lease, and while it
// holds anything unsettled it renews it every third of a lease even when nothing
// settles. Every replica follows the journals (the endpoint projection hands
// their events to `observe`). When a replica holds unsettled events and its
// lease ran out a lease ago (clocks differ), another replica claims them for
// itself, then appends `WebhookDispatchTakenOver` to the dead replica's stream
// expecting the revision it last saw there: if the dead replica wrote anything
// since (it was only slow), or another replica took over first, the append fails
// and the claim is released. The taker turns its standby rows of those events'
// changes into deliveries (every replica numbers every change, so they carry the
// same sequence numbers) and sends them from the first attempt.
//
// Every replica also keeps the positions the others claimed (`claimed_elsewhere`):
// the group can hand out again an event another replica claimed and acked, and
// the replica handed it then acks it without sending (persistent-dispatch.ts).
//
// A replica that comes back finds the takeover in its own stream (at start, or
// when its next append there fails on the revision) and cancels what it had left
// of those events, so they are not sent from two places. Between a takeover and
// that moment a delivery may go out twice, with the same webhook-id: at least once.
import type { Logger } from 'pino';
import type { StoredEvent } from '../../events/envelope.js';
import {
  decodeDispatchJournalEvent,
  dispatchJournalStream,
  newDispatchJournalEvent,
  replicaOfJournal,
  type DispatchJournalData,
  type DispatchJournalEventType,
} from '../../events/webhook-dispatch.js';
import { StreamConflictError, type EventStore, type ExpectedRevision } from '../store/event-store.js';
import type { ChangeFeed } from './change-feed.js';
import { promote } from './dispatcher.js';
import { changesOfEvent } from './event-changes.js';
import type { EndpointProjection } from './endpoint-projection.js';
import type { Outgoing, WebhookDb } from './webhook-db.js';

export interface DispatchJournalOptions {
  store: EventStore;
  db: WebhookDb;
  feed: ChangeFeed;
  replicaId: string;
  /** How long a replica's claims stay its own without a word from it. */
  leaseMs: number;
  /** Whether this replica has numbered (put on standby) every change up to this log position. */
  covers: (position: number) => boolean;
  endpoints: EndpointProjection;
  room: (endpointId: string) => number;
  created: (deliveries: Outgoing[], waitingIn: ReadonlySet<string>) => void;
  logger: Logger;
  now: () => number;
}

export class DispatchJournal {
  private revision: ExpectedRevision = 'no-stream';
  private recovered = false;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;

  constructor(private readonly options: DispatchJournalOptions) {}

  get replicaId(): string {
    return this.options.replicaId;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), Math.max(10, Math.floor(this.options.leaseMs / 3)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
  }

  /**
   * Records, before the group's event is acked, that this replica delivers the changes of
   * `position`, then keeps the claim in webhooks.db in one transaction with `queue` (which
   * turns the standby rows into deliveries). One transaction: a claim kept without its
   * deliveries would look settled (nothing open) and be recorded so, unsent, while the other
   * replicas pass the event over because of the claim. A crash between the append and the
   * transaction leaves a claim the journal holds and webhooks.db does not: `adoptOrphans`
   * sends it, or, if this replica does not come back, a takeover does.
   */
  async claim<T>(position: number, messageIds: readonly string[], queue: () => T): Promise<T> {
    await this.append('WebhookDispatchClaimed', () => ({ replicaId: this.replicaId, positions: [position], leaseUntil: this.leaseUntil() }));
    return this.options.db.transaction(() => {
      this.options.db.putClaim(position, messageIds);
      return queue();
    });
  }

  /** Settles what has settled, renews the lease, and takes over from replicas whose lease ran out. */
  tick(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        if (!this.recovered) await this.recover();
        await this.settle();
        this.adoptOrphans();
        await this.takeOverTheDead();
      } catch (error) {
        this.options.logger.warn({ err: error }, 'the webhook dispatch journal could not be written; trying again');
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  /**
   * A journal event read from the log (in the endpoint projection's transaction):
   * keeps every replica's unsettled events and lease in webhooks.db.
   */
  observe(stored: StoredEvent): void {
    const event = decodeDispatchJournalEvent(stored);
    if (!event) return;
    const { db } = this.options;
    const owner = replicaOfJournal(stored.streamId);
    const row = db.dispatcher(owner);
    const unsettled = new Set<number>(row ? (JSON.parse(row.unsettled) as number[]) : []);
    let leaseUntil = row?.lease_until ?? 0;
    if (event.type === 'WebhookDispatchClaimed') {
      for (const p of event.data.positions) unsettled.add(p);
      leaseUntil = event.data.leaseUntil;
      // Kept even once settled: the group may hand these events to this replica after the other acked them.
      if (owner !== this.replicaId) for (const p of event.data.positions) db.putClaimedElsewhere(p, owner, this.options.now());
    } else if (event.type === 'WebhookDispatchSettled') {
      for (const p of event.data.positions) unsettled.delete(p);
      leaseUntil = event.data.leaseUntil;
    } else {
      for (const p of event.data.positions) unsettled.delete(p);
      if (owner === this.replicaId) this.fence(event.data.positions, event.data.replicaId);
    }
    db.putDispatcher({ replica_id: owner, revision: event.streamRevision, lease_until: leaseUntil, unsettled: JSON.stringify([...unsettled].sort((a, b) => a - b)) });
  }

  private leaseUntil(): number {
    return this.options.now() + this.options.leaseMs;
  }

  /** Another replica took these events over: what is left of them here is not sent. */
  private fence(positions: readonly number[], by: string): void {
    const { db, now, logger } = this.options;
    const mine = new Map(db.claims().map((c) => [c.position, c.messageIds]));
    let cancelled = 0;
    for (const position of positions) {
      const messageIds = mine.get(position);
      if (!messageIds) continue;
      cancelled += db.cancelLive(messageIds, now());
      db.dropClaim(position);
    }
    if (cancelled > 0) logger.warn({ by, positions, cancelled }, 'another replica took over webhook deliveries this one had not finished; they are cancelled here');
  }

  /** Reads this replica's own stream: where to append next, and any share taken over while it was away. */
  private async recover(): Promise<void> {
    const events = await this.options.store.readStream(dispatchJournalStream(this.replicaId));
    this.revision = events.length > 0 ? events[events.length - 1].streamRevision : 'no-stream';
    this.options.db.transaction(() => {
      for (const stored of events) {
        const event = decodeDispatchJournalEvent(stored);
        if (event?.type === 'WebhookDispatchTakenOver') this.fence(event.data.positions, event.data.replicaId);
      }
    });
    this.recovered = true;
  }

  /** Appends to this replica's stream at the revision it knows; after a conflict it reads the stream again and tries once more. */
  private async append<T extends DispatchJournalEventType>(type: T, data: () => DispatchJournalData<T>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (!this.recovered) await this.recover();
      try {
        const result = await this.options.store.append(dispatchJournalStream(this.replicaId), [newDispatchJournalEvent(type, data())], this.revision);
        this.revision = result.nextExpectedRevision;
        return;
      } catch (error) {
        if (!(error instanceof StreamConflictError) || attempt > 0) throw error;
        this.recovered = false;
      }
    }
  }

  private async settle(): Promise<void> {
    const { db } = this.options;
    const claims = db.claims();
    if (claims.length === 0) return;
    const settled = claims.filter((c) => db.openLive(c.messageIds) === 0).map((c) => c.position);
    // Sent even when nothing settled: it renews the lease on what is still pending.
    await this.append('WebhookDispatchSettled', () => {
      const still = new Set(db.claims().map((c) => c.position)); // a fence may have dropped some meanwhile
      return { replicaId: this.replicaId, positions: settled.filter((p) => still.has(p)), leaseUntil: this.leaseUntil() };
    });
    db.transaction(() => settled.forEach((p) => db.dropClaim(p)));
  }

  /**
   * Events this replica's journal says it holds but its webhooks.db does not know (it
   * was given a new DATA_DIR under the same WEBHOOK_REPLICA_ID): sent again from its
   * standby rows, as a takeover would. Only once the journal as read has caught up
   * with everything this replica wrote, so a claim just settled is not taken for lost.
   */
  private adoptOrphans(): void {
    const { db, logger } = this.options;
    const mine = db.dispatcher(this.replicaId);
    if (!mine || mine.revision !== this.revision) return;
    const claimed = new Set(db.claims().map((c) => c.position));
    const orphans = (JSON.parse(mine.unsettled) as number[]).filter((p) => !claimed.has(p) && this.options.covers(p));
    if (orphans.length === 0) return;
    this.sendNow(orphans);
    logger.warn({ positions: orphans.length }, 'this replica\'s journal holds webhook deliveries its webhooks.db had lost; sending them again');
  }

  private async takeOverTheDead(): Promise<void> {
    const { db, store, now, logger, leaseMs } = this.options;
    for (const row of db.dispatchers()) {
      const positions = JSON.parse(row.unsettled) as number[];
      if (row.replica_id === this.replicaId || positions.length === 0) continue;
      // A lease more than its own length: the other replica's clock may be behind this one's.
      if (now() <= row.lease_until + leaseMs) continue;
      if (!positions.every((p) => this.options.covers(p))) continue;
      // Claimed here first (settling at once should the takeover fail), so a crash in between loses nothing.
      db.transaction(() => positions.forEach((p) => db.putClaim(p, [])));
      await this.append('WebhookDispatchClaimed', () => ({ replicaId: this.replicaId, positions, leaseUntil: this.leaseUntil() }));
      try {
        const taken = newDispatchJournalEvent('WebhookDispatchTakenOver', { replicaId: this.replicaId, from: row.replica_id, positions });
        await store.append(dispatchJournalStream(row.replica_id), [taken], row.revision);
      } catch (error) {
        if (error instanceof StreamConflictError) continue; // it spoke meanwhile, or another replica was first: the empty claims settle
        throw error;
      }
      const deliveries = this.sendNow(positions, () => db.putDispatcher({ ...row, revision: row.revision + 1, unsettled: '[]' }));
      logger.warn({ from: row.replica_id, positions: positions.length, deliveries }, 'took over the webhook deliveries of a replica whose lease ran out');
    }
  }

  /**
   * Makes these log events this replica's to send, in one transaction (with `also`):
   * their changes' standby rows become deliveries, from the first attempt. Returns how many.
   */
  private sendNow(positions: readonly number[], also?: () => void): number {
    const { db, feed, now } = this.options;
    const queued = db.transaction(() => {
      const messageIds = positions.map((p) => {
        const ids = changesOfEvent(feed, p).map((c) => c.id);
        db.putClaim(p, ids);
        return ids;
      });
      also?.();
      return promote(db, this.options.endpoints, messageIds.flat(), this.options.room, now());
    });
    if (queued.rows.length > 0 || queued.waiting.size > 0) this.options.created(queued.rows, queued.waiting);
    return queued.rows.length + queued.waiting.size;
  }
}
