// A catch-up subscription that survives the server: it follows a feed of
// events, hands them to the handler in order and in batches, and when the feed
// drops (server down, connection lost, leader change) opens a new one from the
// last event the handler has finished with, after a backoff.
//
// Exactly once per event, in order, across drops:
// - the cursor moves only after the handler has returned for a batch, and a new
//   feed starts strictly after the cursor, so nothing is skipped;
// - anything at or before the highest position already queued or delivered is
//   dropped, so a server that repeats the boundary event on resubscription, or a
//   feed that replays, never makes the handler see an event twice;
// - events that were received but not yet handed over when the feed dropped are
//   still delivered (they arrived in order), and then the new feed starts after them.
//
// Only the handler's own failures, and errors a retry cannot cure (access
// denied, an event that cannot be read), stop the subscription and go to onError.
// A feed that ends or closes without an error (the server finished the call: a
// node shutting down, a leader change) is a drop like any other: a catch-up
// subscription never ends by itself, and subscribing again cures it.
import type { StoredEvent } from '../../../events/envelope.js';
import type { EventsHandler, Subscription } from '../event-store.js';

/** The part of a client subscription this needs (a Readable in object mode). */
type FeedEvent = 'data' | 'error' | 'end' | 'close';
type Listener = (arg: never) => void;

export interface Feed {
  on(event: FeedEvent, listener: Listener): unknown;
  off(event: FeedEvent, listener: Listener): unknown;
  pause(): unknown;
  resume(): unknown;
  unsubscribe(): Promise<void>;
}

export interface FollowOptions {
  /** Events strictly after this position. */
  after: number;
  /** Opens a feed of events strictly after `after`. May throw. */
  open(after: number): Feed;
  /** Maps one item of the feed to an event, or undefined to pass over it (system events). May throw. */
  accept(item: unknown): StoredEvent | undefined;
  handler: EventsHandler;
  onError?: (error: unknown) => void;
  isTransient(error: unknown): boolean;
  /** Told of every drop before the backoff, for logs. */
  onDrop?(info: { error: unknown; attempt: number; delayMs: number; resumeAfter: number }): void;
  retry?: { firstDelayMs?: number; maxDelayMs?: number };
  /** Most events per handler call. */
  maxBatch?: number;
}

/** A feed that ended or closed without an error. Always a drop: subscribing again cures it. */
class FeedEnded extends Error {
  override readonly name = 'FeedEnded';
}

type Outcome = { kind: 'dropped'; error: unknown } | { kind: 'failed'; error: unknown } | { kind: 'closed' };

export function follow(options: FollowOptions): Subscription {
  const maxBatch = options.maxBatch ?? 500;
  const highWater = maxBatch * 2;
  const firstDelayMs = options.retry?.firstDelayMs ?? 250;
  const maxDelayMs = options.retry?.maxDelayMs ?? 5_000;

  let cursor = options.after; // the last position the handler has finished with
  let closed = false;
  let stopCurrent: (() => void) | undefined;
  let wakeFromBackoff: (() => void) | undefined;

  /** Runs one feed until it drops, the handler fails, or close() is called. */
  const pump = (feed: Feed): Promise<Outcome> =>
    new Promise<Outcome>((resolve) => {
      const queue: StoredEvent[] = [];
      let seen = cursor; // the highest position queued or delivered
      let dropped: { error: unknown } | undefined;
      let delivering = false;
      let paused = false;
      let settled = false;

      const settle = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        stopCurrent = undefined;
        // Only this pump's own listeners: the client's stream keeps its internal ones.
        for (const [event, listener] of listeners) feed.off(event, listener);
        // An error after this point has nobody to tell; keep it from becoming an unhandled 'error'.
        feed.on('error', () => undefined);
        feed.unsubscribe().catch(() => undefined);
        resolve(outcome);
      };

      const drain = async () => {
        if (delivering) return;
        delivering = true;
        try {
          while (queue.length > 0 && !closed) {
            const batch = queue.splice(0, maxBatch);
            await options.handler(batch);
            cursor = batch[batch.length - 1].position;
            if (paused && queue.length < maxBatch) {
              paused = false;
              feed.resume();
            }
          }
        } catch (error) {
          settle({ kind: 'failed', error });
          return;
        } finally {
          delivering = false;
        }
        if (closed) settle({ kind: 'closed' });
        else if (dropped) settle({ kind: 'dropped', error: dropped.error });
      };

      stopCurrent = () => {
        // An in-flight handler call finishes first; drain settles after it.
        if (!delivering) settle({ kind: 'closed' });
      };

      const listeners: Array<[FeedEvent, Listener]> = [];
      const listen = (event: FeedEvent, listener: Listener) => {
        listeners.push([event, listener]);
        feed.on(event, listener);
      };

      listen('data', (item: unknown) => {
        if (settled || dropped) return;
        let event: StoredEvent | undefined;
        try {
          event = options.accept(item);
        } catch (error) {
          settle({ kind: 'failed', error });
          return;
        }
        if (!event || event.position <= seen) return;
        seen = event.position;
        queue.push(event);
        if (queue.length >= highWater && !paused) {
          paused = true;
          feed.pause();
        }
        void drain();
      });
      const onDrop = (error: unknown) => {
        if (settled || dropped) return;
        dropped = { error };
        void drain();
      };
      listen('error', (error: Error) => onDrop(error));
      listen('end', () => onDrop(new FeedEnded('the server ended the subscription')));
      listen('close', () => onDrop(new FeedEnded('the subscription closed')));
    });

  const backoff = (attempt: number) => Math.min(maxDelayMs, firstDelayMs * 2 ** Math.max(0, attempt - 1));

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeFromBackoff = undefined;
        resolve();
      }
      wakeFromBackoff = done;
    });

  const run = async (): Promise<void> => {
    let attempt = 0;
    while (!closed) {
      const before = cursor;
      let outcome: Outcome;
      try {
        outcome = await pump(options.open(cursor));
      } catch (error) {
        outcome = { kind: 'dropped', error };
      }
      if (outcome.kind === 'closed' || closed) return;
      if (outcome.kind === 'failed') throw outcome.error;
      if (!(outcome.error instanceof FeedEnded) && !options.isTransient(outcome.error)) throw outcome.error;
      // A feed that made progress starts the backoff again from the first delay.
      attempt = cursor > before ? 1 : attempt + 1;
      const delayMs = backoff(attempt);
      options.onDrop?.({ error: outcome.error, attempt, delayMs, resumeAfter: cursor });
      await sleep(delayMs);
    }
  };

  const done = run().catch((error) => {
    if (options.onError) options.onError(error);
    else throw error;
  });

  return {
    close: async () => {
      closed = true;
      stopCurrent?.();
      wakeFromBackoff?.();
      await done;
    },
  };
}
