// Replays (POST /v1/webhooks/{id}/replay): every change after a place in the
// feed that the endpoint's filters take, queued again, up to where the
// dispatcher was when the replay began (later changes go out live, numbered
// after). On a long log that is tens of thousands of rows, about a second of
// work, so a replay is written in batches, each in its own transaction with the
// replay's new place (the `replays` table), and the event loop is given back
// between batches: other requests and deliveries go on meanwhile.
//
// Each change is queued once, whatever happens: a replay cut short by a crash
// or a stop resumes at the next start from the place its last batch committed.
// Places are change-feed cursors, and a batch never ends inside the changes of
// one position and day, so they stay exact in a read model rebuilt meanwhile,
// which may number its changes otherwise. While a replay is written its
// endpoint is held (delivery-worker.ts, holdForReplay), so its receiver gets the
// replay whole and in order, and what came live meanwhile after it.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { cursorOf, formatCursor, parseCursor, sameGroup, type ChangeCursor } from '../read-model/change-cursor.js';
import type { ChangeFeed, FeedChange } from './change-feed.js';
import { wants } from './endpoint.js';
import type { EndpointProjection } from './endpoint-projection.js';
import { changeBodyPrefix } from './payload.js';
import type { ReplayRow, WebhookDb } from './webhook-db.js';

/** Changes read per batch (one transaction): some tens of milliseconds of work. */
const CHANGES_PER_BATCH = 200;

export type ReplayOutcome =
  | { deliveries: number; through: number }
  /**
   * Ended before it was written whole: its endpoint was disabled (what was written is cancelled
   * with its other deliveries) or deleted, or the service is stopping (it resumes at the next start).
   */
  | { stopped: 'disabled' | 'deleted' | 'stopping' };

type Step = ReplayRow | { deliveries: number } | { stopped: 'disabled' | 'deleted' };

/** The delivery worker's side: an endpoint being replayed is sent nothing else until the replay is whole. */
export interface ReplayHold {
  holdForReplay(endpointId: string): void;
  replayWritten(endpointId: string): void;
}

export class Replays {
  private stopped = false;
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly db: WebhookDb,
    private readonly feed: ChangeFeed,
    private readonly endpoints: EndpointProjection,
    private readonly worker: ReplayHold,
    private readonly logger: Logger,
  ) {}

  /** Queues again the changes after `after` for the endpoint; resolves once all are written. */
  async replay(endpointId: string, after: ChangeCursor, at: number): Promise<ReplayOutcome> {
    if (this.stopped) return { stopped: 'stopping' };
    const through = this.db.checkpoint('dispatch_position');
    const throughSeq = this.db.checkpoint('dispatch_seq');
    const last = throughSeq > 0 ? this.feed.after(throughSeq - 1, 1)[0] : undefined;
    if (!last) return { deliveries: 0, through };
    const replay = this.db.transaction(() =>
      this.db.insertReplay({ endpoint_id: endpointId, next_after: formatCursor(after), through: formatCursor(cursorOf(last)), through_change: last.id, at }),
    );
    const outcome = await this.track(this.run(replay));
    return 'stopped' in outcome ? outcome : { deliveries: outcome.deliveries, through };
  }

  /** At start, before the worker: the replays a crash or a stop cut short go on from where they got to. */
  resume(): void {
    for (const replay of this.db.replays()) {
      const { endpoint_id: endpointId, next_after: after, through, deliveries } = replay;
      this.logger.info({ endpointId, after, through, deliveries }, 'resuming a webhook replay cut short');
      this.track(this.run(replay)).then(
        (outcome) => this.logger.info({ endpointId, ...outcome }, 'resumed webhook replay ended'),
        (error: unknown) => this.logger.error({ err: error, endpointId }, 'resumed webhook replay failed; it resumes at the next start'),
      );
    }
  }

  /** Ends every replay after its current batch; each resumes at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running]);
  }

  private track<T>(run: Promise<T>): Promise<T> {
    this.running.add(run);
    void run.catch(() => undefined).finally(() => this.running.delete(run));
    return run;
  }

  private async run(replay: ReplayRow): Promise<{ deliveries: number } | { stopped: 'disabled' | 'deleted' | 'stopping' }> {
    this.worker.holdForReplay(replay.endpoint_id);
    try {
      let step: Step = replay;
      while ('n' in step) {
        // A stop leaves the endpoint held: the worker is stopping too, and the rest comes after the start.
        if (this.stopped) return { stopped: 'stopping' };
        step = this.batch(step);
        await yieldToLoop();
      }
      this.worker.replayWritten(replay.endpoint_id);
      return step;
    } catch (error) {
      // Written so far stays queued and goes out; the rest is written at the next start.
      this.worker.replayWritten(replay.endpoint_id);
      throw error;
    }
  }

  /** Writes the replay's next batch and its new place, in one transaction. */
  private batch(replay: ReplayRow): Step {
    return this.db.transaction(() => {
      const endpoint = this.endpoints.get(replay.endpoint_id);
      if (!endpoint?.enabled) {
        this.db.dropReplay(replay.n);
        return { stopped: endpoint ? 'disabled' : 'deleted' };
      }
      const throughSeq = this.throughSeq(replay);
      const next = parseCursor(replay.next_after)!;
      const changes = this.wholeGroups(this.feed.after(this.feed.seqBefore(next.position, next.day), CHANGES_PER_BATCH)).filter((c) => c.seq <= throughSeq);
      let deliveries = replay.deliveries;
      for (const change of changes) {
        if (!wants(endpoint, change)) continue;
        this.db.putPayload(change.id, changeBodyPrefix(change));
        this.db.insertDelivery({
          endpointId: endpoint.id,
          origin: 'replay',
          messageId: change.id,
          type: change.type,
          position: change.position,
          // The number it had live (replays never number: every replica must number alike), or none.
          sequence: this.db.liveSequence(endpoint.id, change.id) ?? null,
          at: replay.at,
        });
        deliveries += 1;
      }
      const last = changes.at(-1);
      if (!last || last.seq >= throughSeq) {
        this.db.dropReplay(replay.n);
        return { deliveries };
      }
      const nextAfter = formatCursor(cursorOf(last));
      this.db.replayWritten(replay.n, nextAfter, deliveries);
      return { ...replay, next_after: nextAfter, deliveries };
    });
  }

  /**
   * The feed's number for the last change the replay takes: found by its id, as the dispatcher
   * may have stopped inside a position and day; in a rebuilt read model without that change, the
   * end of its position and day.
   */
  private throughSeq(replay: ReplayRow): number {
    const through = parseCursor(replay.through)!;
    const change = this.feed.at(through.position).find((c) => c.id === replay.through_change);
    return change ? change.seq : this.feed.seqBefore(through.position, through.day);
  }

  /** A full page with the rest of its last change's position and day, so that a place is never inside them. */
  private wholeGroups(page: FeedChange[]): FeedChange[] {
    const last = page.at(-1);
    if (!last || page.length < CHANGES_PER_BATCH) return page;
    return [...page, ...this.feed.at(last.position).filter((c) => c.seq > last.seq && sameGroup(c, last))];
  }
}
