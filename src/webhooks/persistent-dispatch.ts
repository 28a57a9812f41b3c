// Webhook dispatch shared by the replicas of a KurrentDB deployment. Every
// replica derives the same changes from the log in its own read model, and
// numbers every change for every endpoint the same way, leaving them on standby
// (`Dispatcher` with `standby`): so a change has the same sequence number
// whichever replica sends it. Which replica sends the changes of a log event is
// decided by a persistent subscription group on $all (competing consumers),
// which hands each event to one consumer:
//
// - The replica handed the event at position P waits until its read model, its
//   endpoint projection and its standby numbering have reached P, records in its
//   dispatch journal that it takes P on (dispatch-journal.ts: what lets another
//   replica take over if this one dies for good with retries pending), turns the
//   standby rows of P's changes into deliveries, and acks P. Its delivery worker
//   sends them with the usual retries.
// - Before claiming P it reads the journals up to the head of the log, and if another
//   replica claimed P already it acks P without sending: the group can hand out an event
//   that was acked (it writes its checkpoint every few acks, and resumes from it after a
//   leader change or a restart), and this replica still has P's changes on standby.
// - It nacks with retry when it cannot (its read model is still behind after a
//   wait, the journal or webhooks.db refuses a write): the group hands P out
//   again, perhaps to another replica. After `maxRetries` retries it parks P, so
//   an operator can see it and replay it (the group's parked messages).
// - A replica that dies or stops with events unacked gives them back to the group,
//   which hands them to the others. One that dies for good after acking leaves its
//   pending retries in its journal, and another replica takes them over when its
//   lease runs out.
//
// Which changes belong to which event (the changes of a new day have no event of
// their own) is in event-changes.ts.
import type { Logger } from 'pino';
import type { EventStore } from '../store/event-store.js';
import type { ConsumerGroup, GroupConsumer, GroupEvent, GroupOutcome } from '../store/kurrentdb/group.js';
import type { ReadModel } from '../read-model/read-model.js';
import { untilApplied } from '../read-model/until-applied.js';
import type { ChangeFeed } from './change-feed.js';
import { DispatchJournal } from './dispatch-journal.js';
import type { DispatchSource } from './dispatch-source.js';
import { Dispatcher, promote } from './dispatcher.js';
import type { EndpointProjection } from './endpoint-projection.js';
import { changesOfEvent } from './event-changes.js';
import type { Outgoing, WebhookDb } from './webhook-db.js';

/** The name of the group on $all that shares webhook dispatch between replicas. */
export const WEBHOOK_DISPATCH_GROUP = 'policy-state-webhooks';

export interface PersistentDispatchOptions {
  group: ConsumerGroup;
  store: EventStore;
  db: WebhookDb;
  feed: ChangeFeed;
  endpoints: EndpointProjection;
  readModel: Pick<ReadModel, 'events' | 'checkpoint'>;
  room: (endpointId: string) => number;
  created: (deliveries: Outgoing[], waitingIn: ReadonlySet<string>) => void;
  logger: Logger;
  now: () => number;
  replicaId: string;
  /** How long this replica's claims stay its own without a word from it (dispatch-journal.ts). */
  leaseMs: number;
  pollIntervalMs: number;
  /** How long to wait for this replica's read model to reach an event before handing it back. */
  waitMs?: number;
  /** Retries before an event is parked. */
  maxRetries?: number;
}

export class PersistentDispatch implements DispatchSource {
  private consumer?: GroupConsumer;
  private readonly numbering: Dispatcher;
  readonly journal: DispatchJournal;
  /** The server refused this replica the group (group.ts): nothing is dispatched here. */
  private refusal?: Error;
  /** The latest log positions this replica dispatched (for tests and logs; see remember). */
  readonly dispatched: number[] = [];
  /** The latest log positions handed to this replica that another replica had claimed (for tests and logs). */
  readonly passedOver: number[] = [];

  constructor(private readonly options: PersistentDispatchOptions) {
    const { db, feed, endpoints, readModel, room, created, logger, now } = options;
    this.numbering = new Dispatcher(db, feed, endpoints, readModel.events, room, created, logger, now, options.pollIntervalMs, 200, true);
    this.journal = new DispatchJournal({ store: options.store, db, feed, replicaId: options.replicaId, leaseMs: options.leaseMs, covers: (p) => this.covers(p), endpoints, room, created, logger, now });
    endpoints.observeJournal = (event) => this.journal.observe(event);
  }

  start(): void {
    this.numbering.start();
    this.journal.start();
    this.consumer = this.options.group.consume(
      (message) => this.handle(message),
      (error) => (this.refusal = error),
    );
  }

  /** Why dispatch stopped here by itself, if it did: /health/ready says so (Webhooks.failure). */
  get failure(): Error | undefined {
    return this.refusal ?? this.numbering.failure;
  }

  /** Whether every change up to log position `position` has been numbered here. */
  private covers(position: number): boolean {
    const next = this.options.feed.after(this.options.db.checkpoint('dispatch_seq'), 1)[0];
    return next === undefined || next.position > position;
  }

  private async numbered(position: number, waitMs: number): Promise<boolean> {
    for (const until = Date.now() + waitMs; !this.covers(position); ) {
      if (Date.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  /**
   * The replica other than this one that claimed `position` in its journal, null if none did,
   * undefined if this replica could not find out in time. The group hands an event out again
   * after its consumer acked it when it lost the ack (a leader change or restart resumes from
   * the group's last checkpoint). That consumer appended its claim before its ack, and the ack
   * came before this hand-out: so the claim is in the log now, and known here once the endpoint
   * projection (which reads the journals) has reached the head of the log as of now.
   */
  private async claimedElsewhere(position: number, waitMs: number): Promise<string | null | undefined> {
    const { store, endpoints, db } = this.options;
    const head = await store.headPosition();
    if (!(await untilApplied(endpoints.events, () => endpoints.checkpoint(), head, waitMs))) return undefined;
    return db.claimedElsewhere(position) ?? null;
  }

  async handle({ event, retryCount }: GroupEvent): Promise<GroupOutcome> {
    const { db, feed, endpoints, readModel, logger } = this.options;
    // Journal events come here too, as any event of the service: no changes of their own,
    // but the changes of a new day that began just before one belong to it (event-changes.ts).
    const fail = (reason: string): GroupOutcome => {
      const parked = retryCount >= (this.options.maxRetries ?? 10);
      logger.warn({ position: event.position, retryCount, reason, parked }, parked ? 'parking a log event: its webhooks could not be queued' : 'handing a log event back to the group');
      return parked ? { park: reason } : { retry: reason };
    };
    const waitMs = this.options.waitMs ?? 5_000;
    const position = event.position;
    if (!(await untilApplied(readModel.events, () => readModel.checkpoint().position, position, waitMs))) return fail('the read model has not reached the event yet');
    if (!(await untilApplied(endpoints.events, () => endpoints.checkpoint(), position, waitMs))) return fail('the endpoint projection has not reached the event yet');
    if (!(await this.numbered(position, waitMs))) return fail('the changes have not been numbered yet');
    try {
      const messageIds = changesOfEvent(feed, position).map((c) => c.id);
      // Nothing on standby (no endpoint wants these changes, or they went out already): nothing to claim.
      if (db.hasStandby(messageIds)) {
        const claimedBy = await this.claimedElsewhere(position, waitMs);
        if (claimedBy === undefined) return fail('the endpoint projection has not read the dispatch journals up to the head of the log yet');
        if (claimedBy !== null) {
          logger.info({ position, claimedBy }, 'passing over a log event another replica claimed: the group handed it out again');
          remember(this.passedOver, position);
          return 'ack';
        }
        const { rows, waiting } = await this.journal.claim(position, messageIds, () => promote(db, endpoints, messageIds, this.options.room, this.options.now()));
        if (rows.length > 0 || waiting.size > 0) this.options.created(rows, waiting);
      }
      remember(this.dispatched, position);
      return 'ack';
    } catch (error) {
      return fail(error instanceof Error ? error.message : String(error));
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
    this.consumer = undefined;
    await this.numbering.stop();
    await this.journal.stop();
  }
}

/** How many positions `dispatched` and `passedOver` keep at least. */
export const REMEMBERED_POSITIONS = 10_000;

/** Appends `position`, keeping the latest REMEMBERED_POSITIONS to 2× that: a replica lives for months, handed every event. */
export function remember(list: number[], position: number): void {
  list.push(position);
  if (list.length >= 2 * REMEMBERED_POSITIONS) list.splice(0, list.length - REMEMBERED_POSITIONS);
}
