// Where a reader of the log or the change feed may start: no further than what
// exists. GET /v1/changes, GET /v1/events and the change stream check the same way.
import type { EventStore } from '../store/event-store.js';
import type { ReadModel } from '../read-model/read-model.js';
import { addDays, dayOf } from '../../projections/time.js';
import { badRequest, unavailable } from './problems.js';

export interface FeedBounds {
  /**
   * A position past the head names no event yet. Paging from it would hand back the same
   * position as nextAfter, and a poller following it would skip every event written up to it.
   * The store is asked only past what the read model has applied, so the change feed answers
   * from the read model alone while the store is away.
   */
  notPastTheHead(after: number, field: string): Promise<void>;
  /**
   * An answer as of a log position needs the read model to have applied it. One past the head is the
   * client's mistake (400); one in the log but not applied yet (the read model catching up, after a
   * start or on another replica's writes) is this service's, and soon over: 503 with Retry-After.
   */
  applied(position: number, field: string): Promise<void>;
  /** No day has begun after tomorrow (UTC, by this clock, a day's leeway for another replica's): a cursor naming one would skip that position's changes of every day until then. */
  notPastTomorrow(day: string | undefined, field: string): void;
}

export function feedBounds(store: EventStore, readModel: Pick<ReadModel, 'checkpoint'>, now: () => Date): FeedBounds {
  return {
    async notPastTheHead(after, field) {
      if (after <= readModel.checkpoint().position) return;
      const head = await store.headPosition();
      if (after > head) throw badRequest(`the log's head is at position ${head}`, [{ path: field, message: `must be at most ${head}, the head of the log` }]);
    },
    async applied(position, field) {
      const checkpoint = readModel.checkpoint().position;
      if (position <= checkpoint) return;
      await this.notPastTheHead(position, field);
      throw unavailable(`the read model has applied the log up to position ${checkpoint}, not yet to ${position}: ask again in a moment`, 1);
    },
    notPastTomorrow(day, field) {
      const tomorrow = addDays(dayOf(now().getTime()), 1);
      if (day !== undefined && day > tomorrow) throw badRequest(`no day after ${tomorrow} has begun`, [{ path: field, message: `names a day after ${tomorrow}` }]);
    },
  };
}
