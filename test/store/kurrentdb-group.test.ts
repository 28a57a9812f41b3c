// The persistent subscription group the replicas share (kurrentdb/group.ts),
// over the in-memory stand-in's model of one: each event to one consumer, ack,
// nack retry (handed out again) and park, the server's own records and other
// applications' streams passed over, the group created once, and what a
// consumer held unacked handed to another when it leaves.
import { randomUUID } from 'node:crypto';
import { END, persistentSubscriptionToAllSettingsFromDefaults, streamNameFilter } from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../events/envelope.js';
import { consumeGroup, type GroupEvent, type GroupOutcome } from '../../src/store/kurrentdb/group.js';
import { KurrentDbEventStore } from '../../src/store/kurrentdb-event-store.js';
import { StandInKurrentDB, accessDenied, maximumSubscribersReached } from './kurrentdb-stand-in.js';

const event = (n: number): NewEvent => ({ eventId: randomUUID(), type: 'StatementRecorded', schemaVersion: 2, data: { n }, metadata: {} });
const n = (m: GroupEvent) => (m.event.data as { n: number }).n;

function replica(server: StandInKurrentDB) {
  return new KurrentDbEventStore(server.client(), 'stand-in:2113');
}

/** A consumer of group 'g' that acks every event, noting each event's number and every failure it reports. */
function countingConsumer(server: StandInKurrentDB) {
  const failures: Error[] = [];
  const seen: number[] = [];
  const client = server.client();
  const consumer = consumeGroup({
    client: () => client,
    group: 'g',
    filter: streamNameFilter({ prefixes: ['country-'] }),
    accept: (item) => ({ data: { n: Number(item.event!.type === 'StatementRecorded' ? (item.event!.data as { n: number }).n : -1) } }) as never,
    handler: async (m) => (seen.push(n(m)), 'ack'),
    retryDelayMs: 5,
    onFailure: (error) => failures.push(error),
  });
  return { consumer, seen, failures };
}

describe('a persistent subscription group of replicas', () => {
  it('hands each event to one consumer; retry hands it out again, park sets it aside; only service events reach the handler', async () => {
    const server = new StandInKurrentDB();
    const a = replica(server);
    const b = replica(server);
    const seen: Array<{ by: string; n: number; retryCount: number }> = [];
    const handler = (by: string) => async (m: GroupEvent): Promise<GroupOutcome> => {
      seen.push({ by, n: n(m), retryCount: m.retryCount });
      if (n(m) === 3) return m.retryCount < 2 ? { retry: 'not yet' } : 'ack';
      if (n(m) === 4) return m.retryCount < 1 ? { retry: 'not yet' } : { park: 'gave up' };
      return 'ack';
    };
    const consumers = [a.consumerGroup('g').consume(handler('a')), b.consumerGroup('g').consume(handler('b'))];
    await expect.poll(() => server.groups.get('g')?.consumers.length ?? 0).toBe(2);
    for (let i = 1; i <= 6; i++) await a.append(`country-X${i}`, [event(i)], 'any');
    server.writeSystemEvent();
    await server.client().appendToStream('orders-1', { id: randomUUID(), contentType: 'application/json', type: 'OrderPlaced', data: {}, metadata: undefined });
    const group = server.groups.get('g')!;
    await expect.poll(() => group.acked.length + group.parked.length).toBe(6);

    const firsts = seen.filter((s) => s.retryCount === 0);
    expect(firsts.map((s) => s.n).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(firsts.map((s) => s.by))).toEqual(new Set(['a', 'b']));
    expect(seen.filter((s) => s.n === 3).map((s) => s.retryCount)).toEqual([0, 1, 2]);
    expect(group.parked).toEqual([{ id: expect.any(String), reason: 'gave up' }]);
    expect(seen.filter((s) => s.n === 4).map((s) => s.retryCount)).toEqual([0, 1]);
    await Promise.all(consumers.map((c) => c.close()));
    await Promise.all([a.close(), b.close()]);
  });

  it('creates the group once, from the end of the log: what came before is not handed out', async () => {
    const server = new StandInKurrentDB();
    const a = replica(server);
    await a.append('country-US', [event(0)], 'any');
    const seen: number[] = [];
    const first = a.consumerGroup('g').consume(async (m) => (seen.push(n(m)), 'ack'));
    const second = replica(server).consumerGroup('g').consume(async (m) => (seen.push(n(m)), 'ack'));
    await expect.poll(() => server.groups.get('g')?.consumers.length ?? 0).toBe(2);
    await a.append('country-US', [event(1)], 'any');
    await expect.poll(() => seen).toEqual([1]);
    await first.close();
    await second.close();
  });

  it('a consumer that leaves with events unacked hands them to the one that stays', async () => {
    const server = new StandInKurrentDB();
    const a = replica(server);
    const b = replica(server);
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const byA: number[] = [];
    const byB: number[] = [];
    const consumerA = a.consumerGroup('g').consume(async (m) => {
      await hold;
      byA.push(n(m));
      return 'ack';
    });
    await expect.poll(() => server.groups.get('g')?.consumers.length ?? 0).toBe(1);
    for (let i = 1; i <= 5; i++) await a.append('country-US', [event(i)], 'any');
    const group = server.groups.get('g')!;
    await expect.poll(() => group.consumers[0].inFlight.size).toBe(5);
    const consumerB = b.consumerGroup('g').consume(async (m) => (byB.push(n(m)), 'ack'));
    const leaving = consumerA.close();
    release();
    await leaving;
    await expect.poll(() => group.acked.length).toBe(5);
    expect(byA).toEqual([1]); // the event in hand is finished and acked
    expect(byB.sort()).toEqual([2, 3, 4, 5]);
    expect(group.handedBack).toHaveLength(4);
    await consumerB.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('subscribes again after a drop, and is handed again what it had not acked when the connection dropped', async () => {
    const server = new StandInKurrentDB();
    const a = replica(server);
    const seen: Array<[number, number]> = [];
    let drop!: () => void;
    const dropped = new Promise<void>((resolve) => (drop = resolve));
    const consumer = a.consumerGroup('g').consume(async (m) => {
      seen.push([n(m), m.retryCount]);
      if (n(m) === 2 && m.retryCount === 0) await dropped; // in hand when the connection goes
      return 'ack';
    });
    await expect.poll(() => server.groups.get('g')?.consumers.length ?? 0).toBe(1);
    await a.append('country-US', [event(1)], 'any');
    await a.append('country-US', [event(2)], 'any');
    await expect.poll(() => seen.length).toBe(2);
    server.setDown(true);
    server.setDown(false);
    drop(); // its ack goes nowhere: the group hands it out again
    await a.append('country-US', [event(3)], 'any');
    await expect.poll(() => seen, { timeout: 5_000 }).toEqual([[1, 0], [2, 0], [2, 1], [3, 0]]);
    await consumer.close();
    await a.close();
  });
  it('creates the group RoundRobin, with a checkpoint after every ack', async () => {
    const server = new StandInKurrentDB();
    const consumer = replica(server).consumerGroup('g').consume(async () => 'ack');
    await expect.poll(() => server.groups.get('g')?.consumers.length ?? 0).toBe(1);
    expect(server.groups.get('g')!.settings).toMatchObject({ consumerStrategyName: 'RoundRobin', checkPointLowerBound: 1, checkPointAfter: 1_000 });
    await consumer.close();
  });

  it('brings a group an earlier version created Pinned to RoundRobin, keeping what it had yet to hand out', async () => {
    const server = new StandInKurrentDB();
    const a = replica(server);
    // An earlier version created the group Pinned, with the default checkpoints; an event waits in it.
    const pinned = persistentSubscriptionToAllSettingsFromDefaults({ startFrom: END, consumerStrategyName: 'Pinned', messageTimeout: 60_000, maxRetryCount: 20 });
    await server.client().createPersistentSubscriptionToAll('g', pinned, { filter: streamNameFilter({ prefixes: ['country-', 'webhook-'] }) });
    await a.append('country-US', [event(1)], 'any');
    const group = server.groups.get('g')!;
    const seen: number[] = [];
    const first = a.consumerGroup('g').consume(async (m) => (seen.push(n(m)), 'ack'));
    await expect.poll(() => seen).toEqual([1]);
    expect(group.updates).toBe(1);
    expect(group.settings).toMatchObject({ consumerStrategyName: 'RoundRobin', checkPointLowerBound: 1, checkPointAfter: 1_000, startFrom: END });
    // A second replica finds it up to date: no second update (which would drop the first one's connection).
    const second = replica(server).consumerGroup('g').consume(async (m) => (seen.push(n(m)), 'ack'));
    await expect.poll(() => group.consumers.length).toBe(2);
    await a.append('country-US', [event(2)], 'any');
    await expect.poll(() => seen).toEqual([1, 2]);
    expect(group.updates).toBe(1);
    await Promise.all([first.close(), second.close()]);
    await a.close();
  });
  for (const [name, refusal, where] of [
    ['access denied (no permission to consume the group, or bad credentials)', accessDenied(), 'on create'],
    ['access denied to a group an admin created', accessDenied(), 'on subscribe'],
  ] as const) {
    it(`stops and says why when the server refuses the group: ${name}`, async () => {
      const server = new StandInKurrentDB();
      if (where === 'on subscribe') await server.client().createPersistentSubscriptionToAll('g', persistentSubscriptionToAllSettingsFromDefaults({ consumerStrategyName: 'RoundRobin', messageTimeout: 60_000, maxRetryCount: 20, checkPointAfter: 1_000, checkPointLowerBound: 1 }), { filter: streamNameFilter({ prefixes: ['country-'] }) });
      server.groupRefusal = refusal;
      const failures: Error[] = [];
      const client = server.client();
      const consumer = consumeGroup({
        client: () => client,
        group: 'g',
        filter: streamNameFilter({ prefixes: ['country-'] }),
        accept: () => undefined,
        handler: async () => 'ack',
        retryDelayMs: 5,
        onFailure: (error) => failures.push(error),
      });
      await expect.poll(() => failures.length).toBe(1);
      const calls = server.groupCalls;
      await new Promise((resolve) => setTimeout(resolve, 100)); // twenty retry delays
      expect(server.groupCalls).toBe(calls);
      expect(failures[0].message).toContain('KurrentDB refused the persistent subscription group g');
      expect(failures[0].cause).toBe(refusal);
      await consumer.close();
    });
  }

  it('consumes a group an admin created when its user may not create or update groups (not in $ops)', async () => {
    const server = new StandInKurrentDB();
    // Created by an admin as an earlier version did (Pinned): this user cannot bring it up to date, and need not.
    await server.client().createPersistentSubscriptionToAll('g', persistentSubscriptionToAllSettingsFromDefaults({ startFrom: END, consumerStrategyName: 'Pinned' }), { filter: streamNameFilter({ prefixes: ['country-'] }) });
    server.groupManagementRefusal = accessDenied();
    const { consumer, seen, failures } = countingConsumer(server);
    await expect.poll(() => server.groups.get('g')?.consumers.length ?? 0).toBe(1);
    await replica(server).append('country-US', [event(3)], 'any');
    await expect.poll(() => seen).toEqual([3]);
    expect(failures).toEqual([]);
    expect(server.groups.get('g')!.updates).toBe(0);
    await consumer.close();
  });

  it('waits for a free place when the group has its maximum of consumers (a rolling restart), then consumes', async () => {
    const server = new StandInKurrentDB();
    server.groupRefusal = maximumSubscribersReached('g');
    const { consumer, seen, failures } = countingConsumer(server);
    await expect.poll(() => server.groupCalls).toBeGreaterThan(3);
    server.groupRefusal = undefined;
    await expect.poll(() => server.groups.get('g')?.consumers.length ?? 0).toBe(1);
    await replica(server).append('country-US', [event(5)], 'any');
    await expect.poll(() => seen).toEqual([5]);
    expect(failures).toEqual([]);
    await consumer.close();
  });

  it('consumes again once a cluster the client could not discover is back, through a new client', async () => {
    const server = new StandInKurrentDB();
    const store = new KurrentDbEventStore(server.client(), 'stand-in:2113', { newClient: () => server.client() });
    server.setDiscoveryFailing(true);
    const seen: number[] = [];
    const failures: Error[] = [];
    const consumer = store.consumerGroup('g').consume(async (m) => (seen.push(n(m)), 'ack'), (error) => failures.push(error));
    await expect.poll(() => server.groupCalls).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 600)); // a failed attempt or two (0.5 s, then 1 s)
    server.setDiscoveryFailing(false);
    // The client that failed keeps failing at once; only a new one reaches the group.
    await expect.poll(() => server.groups.get('g')?.consumers.length ?? 0, { timeout: 5_000 }).toBe(1);
    await replica(server).append('country-US', [event(8)], 'any');
    await expect.poll(() => seen).toEqual([8]);
    expect(failures).toEqual([]);
    await consumer.close();
    await store.close();
  });

  it('keeps trying through errors a retry cures, without calling them a failure', async () => {
    const server = new StandInKurrentDB();
    server.setDown(true);
    const { consumer, seen, failures } = countingConsumer(server);
    await expect.poll(() => server.groupCalls).toBeGreaterThan(3);
    server.setDown(false);
    await expect.poll(() => server.groups.get('g')?.consumers.length ?? 0).toBe(1);
    await replica(server).append('country-US', [event(7)], 'any');
    await expect.poll(() => seen).toEqual([7]);
    expect(failures).toEqual([]);
    await consumer.close();
  });
});
