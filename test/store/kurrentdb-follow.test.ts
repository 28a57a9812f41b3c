// The resubscribing catch-up subscription (src/store/kurrentdb/follow.ts) over
// feeds the test drives: what it does when a feed ends, closes or fails.
import { EventEmitter } from 'node:events';
import { AccessDeniedError } from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../events/envelope.js';
import { isTransient } from '../../src/store/kurrentdb/errors.js';
import { follow, type Feed } from '../../src/store/kurrentdb/follow.js';
import { discoveryFailure } from './kurrentdb-stand-in.js';

class TestFeed extends EventEmitter {
  unsubscribed = false;
  pause() {
    return this;
  }
  resume() {
    return this;
  }
  async unsubscribe() {
    this.unsubscribed = true;
  }
}

const event = (position: number): StoredEvent => ({
  eventId: `e-${position}`,
  type: 'T',
  schemaVersion: 1,
  data: {},
  metadata: {},
  streamId: 'country-US',
  streamRevision: 0,
  position,
  recordedAt: new Date(0).toISOString(),
});

function following() {
  const feeds: Array<{ after: number; feed: TestFeed }> = [];
  const handled: number[] = [];
  const errors: unknown[] = [];
  const subscription = follow({
    after: 0,
    open: (after) => {
      const feed = new TestFeed();
      feeds.push({ after, feed });
      return feed as unknown as Feed;
    },
    accept: (item) => item as StoredEvent,
    handler: (events) => {
      handled.push(...events.map((e) => e.position));
    },
    onError: (error) => errors.push(error),
    isTransient,
    retry: { firstDelayMs: 5, maxDelayMs: 10 },
  });
  return { feeds, handled, errors, subscription };
}

describe('a catch-up subscription whose feed stops', () => {
  it.each(['end', 'close'] as const)('subscribes again after the last event handled when the server %ss the feed without an error', async (how) => {
    const { feeds, handled, errors, subscription } = following();
    try {
      await expect.poll(() => feeds.length).toBe(1);
      feeds[0].feed.emit('data', event(100));
      feeds[0].feed.emit('data', event(250));
      await expect.poll(() => handled).toEqual([100, 250]);
      feeds[0].feed.emit(how);
      await expect.poll(() => feeds.length).toBe(2);
      expect(feeds[1].after).toBe(250);
      expect(errors).toEqual([]);
      feeds[1].feed.emit('data', event(250)); // a repeat of the boundary is passed over
      feeds[1].feed.emit('data', event(400));
      await expect.poll(() => handled).toEqual([100, 250, 400]);
    } finally {
      await subscription.close();
    }
  });

  it("subscribes again after the client failed to discover the cluster (its plain Error, with no code)", async () => {
    const { feeds, errors, subscription } = following();
    try {
      await expect.poll(() => feeds.length).toBe(1);
      feeds[0].feed.emit('error', discoveryFailure());
      await expect.poll(() => feeds.length).toBe(2);
      expect(errors).toEqual([]);
    } finally {
      await subscription.close();
    }
  });

  it('stops, and says why, on an error a retry cannot cure', async () => {
    const { feeds, errors, subscription } = following();
    try {
      await expect.poll(() => feeds.length).toBe(1);
      const denied = new AccessDeniedError(undefined, 'Access denied');
      feeds[0].feed.emit('error', denied);
      await expect.poll(() => errors).toEqual([denied]);
      expect(feeds).toHaveLength(1);
    } finally {
      await subscription.close();
    }
  });
});
