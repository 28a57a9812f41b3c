// Webhook dispatch shared by the replicas of a KurrentDB deployment. Every
// replica derives the same changes from the log in its own read model; which
// replica turns the changes of a log event into deliveries is decided by a
// persistent subscription group on $all (competing consumers), which hands each
// event to one consumer:
//
// - The replica handed the event at position P waits until its read model and
//   its endpoint projection have applied P, then queues, in one transaction of
//   its webhooks.db, the deliveries of P's changes, and acks P. Its delivery
//   worker sends them with the usual retries.
// - It nacks with retry when it cannot (its read model is still behind after a
//   wait, webhooks.db refuses a write): the group hands P out again, perhaps to
//   another replica. After `maxRetries` retries it parks P, so an operator can
//   see it and replay it (the group's parked messages).
// - A replica that dies or stops with events unacked gives them back to the group,
//   which hands them to the others: a dead replica's share is taken over. An event
//   queued but not acked when a replica died is queued again by another: at least
//   once, with the same webhook-id.
//
// Changes of a new day carry the position of the last event before the day
// (they are derived from the clock, not from an event), so no event of the group
// stands for them. Rule: they belong to the next event. The replica handed
// event Q also dispatches the new-day changes whose position is the event just
// before Q (its read model has made all of them by the time it applied Q: a day
// rolls before the first event of that day, and after Q new-day changes carry Q).
// Every replica computes the same split, because a new-day change is recognised
// by its id (derived from the day, country and position), so each change belongs
// to exactly one event. The cost: they wait for the next event of the service.
import type { Logger } from 'pino';
import { changeId } from '../../projections/changes.js';
import type { ConsumerGroup, GroupConsumer, GroupEvent, GroupOutcome } from '../store/kurrentdb/group.js';
import type { ReadModel } from '../read-model/read-model.js';
import { untilApplied } from '../read-model/until-applied.js';
import type { ChangeFeed, FeedChange } from './change-feed.js';
import type { DispatchSource } from './dispatch-source.js';
import { queueLive } from './dispatcher.js';
import type { EndpointProjection } from './endpoint-projection.js';
import type { Outgoing, WebhookDb } from './webhook-db.js';

/** The name of the group on $all that shares webhook dispatch between replicas. */
export const WEBHOOK_DISPATCH_GROUP = 'policy-state-webhooks';

/** A change made by a new day rather than by the event whose position it carries (see changesOfDays). */
export function isNewDayChange(change: FeedChange): boolean {
  const at = (change.data as { at?: unknown }).at;
  return change.type === 'position.changed' && typeof at === 'string' && change.id === changeId('day', at, 'position.changed', change.country, change.position);
}

/** The changes that belong to log event `position`: its own, and the new-day changes of the event before it. */
export function changesOfEvent(feed: ChangeFeed, position: number): FeedChange[] {
  const before = feed.eventBefore(position);
  const newDay = before > 0 ? feed.at(before).filter(isNewDayChange) : [];
  return [...newDay, ...feed.at(position).filter((c) => !isNewDayChange(c))];
}

export interface PersistentDispatchOptions {
  group: ConsumerGroup;
  db: WebhookDb;
  feed: ChangeFeed;
  endpoints: EndpointProjection;
  readModel: Pick<ReadModel, 'events' | 'checkpoint'>;
  room: (endpointId: string) => number;
  created: (deliveries: Outgoing[], waitingIn: ReadonlySet<string>) => void;
  logger: Logger;
  now: () => number;
  /** How long to wait for this replica's read model to reach an event before handing it back. */
  waitMs?: number;
  /** Retries before an event is parked. */
  maxRetries?: number;
}

export class PersistentDispatch implements DispatchSource {
  private consumer?: GroupConsumer;
  failure?: Error;
  /** Log positions this replica dispatched (for tests and logs). */
  readonly dispatched: number[] = [];

  constructor(private readonly options: PersistentDispatchOptions) {}

  start(): void {
    this.consumer = this.options.group.consume((message) => this.handle(message));
  }

  async handle({ event, retryCount }: GroupEvent): Promise<GroupOutcome> {
    const { db, feed, endpoints, readModel, logger } = this.options;
    const fail = (reason: string): GroupOutcome => {
      const parked = retryCount >= (this.options.maxRetries ?? 10);
      logger.warn({ position: event.position, retryCount, reason, parked }, parked ? 'parking a log event: its webhooks could not be queued' : 'handing a log event back to the group');
      return parked ? { park: reason } : { retry: reason };
    };
    const waitMs = this.options.waitMs ?? 5_000;
    const position = event.position;
    if (!(await untilApplied(readModel.events, () => readModel.checkpoint().position, position, waitMs))) return fail('the read model has not reached the event yet');
    if (!(await untilApplied(endpoints.events, () => endpoints.checkpoint(), position, waitMs))) return fail('the endpoint projection has not reached the event yet');
    try {
      const changes = changesOfEvent(feed, position);
      const at = this.options.now();
      const { rows, waiting } = db.transaction(() => {
        const queued = queueLive(db, endpoints, changes, this.options.room, at);
        // For replays and the health view: the furthest this replica has dispatched.
        if (position > db.checkpoint('dispatch_position')) db.setCheckpoint('dispatch_position', position);
        const seq = Math.max(0, ...changes.map((c) => c.seq));
        if (seq > db.checkpoint('dispatch_seq')) db.setCheckpoint('dispatch_seq', seq);
        return queued;
      });
      if (rows.length > 0 || waiting.size > 0) this.options.created(rows, waiting);
      this.dispatched.push(position);
      return 'ack';
    } catch (error) {
      return fail(error instanceof Error ? error.message : String(error));
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
    this.consumer = undefined;
  }
}
