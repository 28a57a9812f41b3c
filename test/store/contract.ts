// The contract every event store passes: the SQLite adapter always, the
// KurrentDB adapter when KURRENTDB_URL points at a server.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../events/envelope.js';
import { DuplicateEventError, StreamConflictError, type EventStore } from '../../src/store/event-store.js';

export interface StoreUnderTest {
  store: EventStore;
  cleanup(): Promise<void>;
}

const event = (n: number, type = 'ContractTested'): NewEvent => ({
  eventId: randomUUID(),
  type,
  schemaVersion: 1,
  data: { n },
  metadata: { correlationId: `c-${n}` },
});

export function eventStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name}: the event-store contract`, () => {
    let subject: StoreUnderTest;
    let store: EventStore;
    // Streams are unique per test so the suite can run against a shared server.
    let stream: string;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
      stream = `contract-${randomUUID()}`;
    });
    afterEach(async () => subject.cleanup());

    it('appends to a new stream expecting no stream, and reads it back in order with its metadata', async () => {
      const result = await store.append(stream, [event(1), event(2)], 'no-stream');
      expect(result.nextExpectedRevision).toBe(1);
      expect(result.positions).toHaveLength(2);
      expect(result.positions[1]).toBeGreaterThan(result.positions[0]);
      const read = await store.readStream(stream);
      expect(read.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(read.map((e) => e.streamRevision)).toEqual([0, 1]);
      expect(read[0].metadata).toEqual({ correlationId: 'c-1' });
      expect(read[0].type).toBe('ContractTested');
      expect(read[0].schemaVersion).toBe(1);
    });

    it('sets recordedAt itself and gives a global position that only grows', async () => {
      const before = Date.now();
      const first = await store.append(stream, [event(1)], 'any');
      const second = await store.append(`${stream}-b`, [event(2)], 'any');
      expect(second.positions[0]).toBeGreaterThan(first.positions[0]);
      const [read] = await store.readStream(stream);
      expect(Date.parse(read.recordedAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(await store.headPosition()).toBeGreaterThanOrEqual(second.positions[0]);
    });

    it('refuses an append expecting no stream when the stream exists, with a typed conflict', async () => {
      await store.append(stream, [event(1)], 'no-stream');
      const error = await store.append(stream, [event(2)], 'no-stream').catch((e) => e);
      expect(error).toBeInstanceOf(StreamConflictError);
      expect(error.actual).toBe(0);
      expect(await store.readStream(stream)).toHaveLength(1);
    });

    it('refuses an append at a stale revision and accepts one at the current revision', async () => {
      await store.append(stream, [event(1), event(2)], 'no-stream');
      await expect(store.append(stream, [event(3)], 0)).rejects.toBeInstanceOf(StreamConflictError);
      await expect(store.append(stream, [event(3)], 1)).resolves.toMatchObject({ nextExpectedRevision: 2 });
    });

    it('refuses an exact revision on a stream that does not exist', async () => {
      await expect(store.append(stream, [event(1)], 0)).rejects.toBeInstanceOf(StreamConflictError);
      expect(await store.readStream(stream)).toEqual([]);
    });

    it('never stores the same event id twice', async () => {
      const once = event(1);
      await store.append(stream, [once], 'any');
      await expect(store.append(stream, [once], 'any')).rejects.toBeInstanceOf(DuplicateEventError);
      expect(await store.readStream(stream)).toHaveLength(1);
      expect((await store.findEvent(once.eventId))?.data).toEqual({ n: 1 });
      expect(await store.findEvent(randomUUID())).toBeUndefined();
    });

    it('reads the whole log from a position, page by page', async () => {
      const start = await store.headPosition();
      await store.append(stream, [event(1), event(2), event(3)], 'any');
      const page1 = await store.readAll({ after: start, limit: 2 });
      const page2 = await store.readAll({ after: page1[1].position, limit: 2 });
      expect([...page1, ...page2].filter((e) => e.streamId === stream).map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    });

    it('follows new events from a position: first what is there, then what commits later', async () => {
      const start = await store.headPosition();
      await store.append(stream, [event(1)], 'any');
      const seen: number[] = [];
      const subscription = store.subscribe(start, (events) => {
        for (const e of events) if (e.streamId === stream) seen.push((e.data as { n: number }).n);
      });
      await store.append(stream, [event(2)], 'any');
      await store.append(stream, [event(3)], 'any');
      await expect.poll(() => seen, { timeout: 5_000 }).toEqual([1, 2, 3]);
      await subscription.close();
    });

    it('under concurrent appends to one stream with expected revisions, each commits or conflicts, and nothing is lost or duplicated', async () => {
      await store.append(stream, [event(0)], 'no-stream');
      const writers = 20;
      const committed: number[] = [];
      await Promise.all(
        Array.from({ length: writers }, async (_, i) => {
          // Every writer retries on conflict with the revision it reads, as a client would.
          for (;;) {
            const revision = (await store.readStream(stream)).length - 1;
            try {
              await store.append(stream, [event(i + 1)], revision);
              committed.push(i + 1);
              return;
            } catch (error) {
              if (!(error instanceof StreamConflictError)) throw error;
            }
          }
        }),
      );
      const read = await store.readStream(stream);
      expect(read).toHaveLength(writers + 1);
      expect(read.map((e) => e.streamRevision)).toEqual(Array.from({ length: writers + 1 }, (_, i) => i));
      expect(new Set(read.map((e) => (e.data as { n: number }).n)).size).toBe(writers + 1);
      expect(committed.sort((a, b) => a - b)).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
    });
  });
}
