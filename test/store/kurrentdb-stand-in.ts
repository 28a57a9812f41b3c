// An in-memory stand-in for a KurrentDB server and its client, for tests that
// cannot run the real server. It speaks the client's API (the calls
// KurrentDbEventStore makes) with the server's documented behaviour where the
// adapter depends on it, and throws the client library's own error classes:
// - positions are sparse byte offsets, with system events in between;
// - a forward read of $all includes its start position, and a start inside a
//   record is refused (with the UnavailableError the client's native core makes of
//   the server's answer); a subscription from a position starts strictly after it;
// - an append of ids the stream already holds is acknowledged without writing
//   (the server's idempotence), never refused; one larger than the server's
//   maximum append size (1 MiB by default) is refused whole;
// - expected-revision mismatches throw WrongExpectedVersionError with the actual state;
// - while "down", every call fails as the real client does against a closed port,
//   and open subscriptions drop.
// - persistent subscriptions to $all (competing consumers): a group created once
//   (creating it again throws PersistentSubscriptionExistsError), each event it
//   takes handed to one consumer at a time (round robin, up to each consumer's
//   buffer size in flight), ack, nack retry (handed out again, retryCount + 1) or
//   park (kept aside), and the unacked events of a consumer that goes away handed
//   to the others. No message timeout: only a closed consumer gives its events back.
//   Its settings can be read and updated (the update keeps what it holds and
//   drops its consumers). A leader change that loses the acks since the group's last checkpoint is
//   `resumeFromCheckpoint`.
// - a read that does not require the leader may be served by a follower behind it
//   (`followerLag`);
// - a cluster the client cannot discover (`setDiscoveryFailing`), and a client that,
//   as the real one, keeps that failure for appends and group calls (see there).
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import {
  AccessDeniedError,
  ANY,
  BACKWARDS,
  END,
  ErrorType,
  MaxAppendSizeExceededError,
  NO_STREAM,
  PARK,
  PersistentSubscriptionDoesNotExistError,
  PersistentSubscriptionDroppedError,
  PersistentSubscriptionExistsError,
  PersistentSubscriptionMaximumSubscribersReachedError,
  RETRY,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendResult,
  type AppendStreamState,
  type EventData,
  type Filter,
  type PersistentAction,
  type PersistentSubscriptionToAllResolvedEvent,
  type PersistentSubscriptionToAllSettings,
  type Position,
  type ReadPosition,
  type ReadRevision,
} from '@kurrent/kurrentdb-client';
import type { KurrentClient } from '../../src/store/kurrentdb-event-store.js';

interface Record {
  streamId: string;
  id: string;
  type: string;
  revision: bigint;
  commit: bigint;
  created: Date;
  data: unknown;
  metadata: unknown;
}

interface LiveSubscription {
  feed: PassThrough & { unsubscribe(): Promise<void> };
  filter?: Filter;
}

interface GroupMessage {
  record: Record;
  retryCount: number;
}

interface GroupConsumer {
  feed: PassThrough;
  bufferSize: number;
  inFlight: Map<string, GroupMessage>;
  number: number;
}

/** A persistent subscription group: what it has yet to hand out, who consumes, what was parked. */
export interface StandInGroup {
  filter?: Filter;
  settings: PersistentSubscriptionToAllSettings;
  /** How many times its settings were updated. */
  updates: number;
  queue: GroupMessage[];
  consumers: GroupConsumer[];
  parked: Array<{ id: string; reason: string }>;
  acked: string[];
  next: number;
  /** Events given back to the group by consumers that went away unacked. */
  handedBack: string[];
  /** Each event handed out, to which consumer (numbered in order of subscription). */
  handedOut: Array<{ id: string; consumer: number; retryCount: number }>;
  consumersSeen: number;
}

export interface StandInOptions {
  /** Whether the server answers; checked on every call. Defaults to always. */
  reachable?: () => boolean | Promise<boolean>;
  /** Makes a subscription from a position also deliver the event at that position, as a misbehaving server might. */
  repeatBoundaryEvent?: boolean;
}

export class StandInKurrentDB {
  private readonly log: Record[] = [];
  private readonly live = new Set<LiveSubscription>();
  /** Persistent subscription groups to $all, by name. */
  readonly groups = new Map<string, StandInGroup>();
  private nextPosition = 1_024n; // the server's own records come first
  private down = false;
  appends = 0;
  /** An error every call about persistent subscription groups fails with (access denied, say); none when undefined. */
  groupRefusal?: Error;
  /** An error creating, reading or updating a group fails with, while consuming one is allowed (a user outside $ops). */
  groupManagementRefusal?: Error;
  /**
   * While set, appends are answered as a node that cannot take them answers a batch append
   * (NotHandled: "Server Is Not Ready" while starting or electing, "Server Is Busy"): a status
   * with no code, which the client turns into UnknownError("Could not recognize <message>").
   */
  notHandled?: string;
  /**
   * While true, the client cannot discover the cluster (no node answers its gossip): see
   * setDiscoveryFailing.
   */
  private discoveryFails = false;
  /**
   * How many of the newest records a read that does not require the leader misses: it is
   * served by a follower that far behind. 0 (up to date) unless a test sets it.
   */
  followerLag = 0;
  /** The server's MaxAppendSize: an append whose events' data, metadata and types add up to more is refused. */
  maxAppendSize = 1024 * 1024;
  /** Calls about persistent subscription groups (create, info, update, subscribe). */
  groupCalls = 0;
  /** Where each subscription asked to start: a commit position, or 'start'. */
  readonly subscribedFrom: Array<bigint | 'start'> = [];

  constructor(private readonly options: StandInOptions = {}) {
    this.writeSystemEvent();
  }

  /** Takes the server down (every call fails, subscriptions drop) or brings it back. */
  setDown(down: boolean): void {
    this.down = down;
    if (down) this.dropSubscriptions(unavailable());
  }

  /**
   * A cluster the client cannot discover, or back again. Meanwhile, as with the real client,
   * calls that first ask the server's capabilities (appends, persistent subscription calls) fail
   * with the plain Error of its discovery, and the client keeps that failure: they fail at once
   * on that client from then on, also once the cluster is back (it caches the rejected promise);
   * a client made anew discovers again. Subscriptions to $all fail with the same Error on every
   * attempt, not kept; reads (the native core) fail as unavailable. Open subscriptions drop.
   */
  setDiscoveryFailing(failing: boolean): void {
    this.discoveryFails = failing;
    if (failing) this.dropSubscriptions(unavailable());
  }

  /** Ends every open subscription with an error, as a dying node or a leader change does. */
  dropSubscriptions(error: Error): void {
    for (const subscription of this.live) subscription.feed.emit('error', error);
    this.live.clear();
    for (const group of this.groups.values()) {
      for (const consumer of [...group.consumers]) {
        this.leave(group, consumer);
        consumer.feed.emit('error', error);
      }
    }
  }

  /**
   * A leader change or node restart: the group resumes from its last checkpoint, which the
   * server writes only every few acks and seconds, so the events acked after the first
   * `checkpointed` acks are handed out again, as new; the consumers' connections drop.
   */
  resumeFromCheckpoint(groupName: string, checkpointed: number): void {
    const group = this.groups.get(groupName)!;
    const again = new Set(group.acked.splice(checkpointed));
    this.dropSubscriptions(unavailable());
    group.queue.unshift(...this.log.filter((r) => again.has(r.id)).map((record) => ({ record, retryCount: 0 })));
  }

  get liveSubscriptions(): number {
    return this.live.size;
  }

  /** What the server writes for itself now and then ($stats, $metadata...), between our events. */
  writeSystemEvent(): void {
    const streamId = '$stats-127.0.0.1:2113';
    const revision = BigInt(this.log.filter((r) => r.streamId === streamId).length);
    this.record({ streamId, id: randomUUID(), type: '$statsCollected', data: { proc: {} }, metadata: undefined }, revision);
  }

  events(): readonly Record[] {
    return this.log;
  }

  client(): KurrentClient & { disposed: boolean } {
    // The client's methods are plain functions (as the real client's are called), so they reach the server through `server`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    let capabilitiesFailure: Error | undefined; // the discovery failure this client keeps
    const capabilities = async () => {
      if (capabilitiesFailure) throw capabilitiesFailure;
      if (server.discoveryFails) throw (capabilitiesFailure = discoveryFailure());
    };
    const client = {
      disposed: false,
      async appendToStream(streamName: string, events: EventData | EventData[], options: { streamState?: AppendStreamState } = {}): Promise<AppendResult> {
        await capabilities();
        await server.gate();
        if (server.notHandled !== undefined) throw new UnknownError(undefined, `Could not recognize ${server.notHandled}`);
        return server.append(streamName, Array.isArray(events) ? events : [events], options.streamState ?? ANY);
      },
      readStream(streamName: string, options: { fromRevision?: ReadRevision; maxCount?: number | bigint; requiresLeader?: boolean } = {}) {
        return (async function* () {
          await server.gate();
          const events = server.seenBy(options.requiresLeader).filter((r) => r.streamId === streamName);
          if (events.length === 0) throw new StreamNotFoundError(undefined, streamName);
          const from = options.fromRevision === undefined || options.fromRevision === START ? 0n : (options.fromRevision as bigint);
          let count = 0n;
          for (const r of events) {
            if (r.revision < from) continue;
            if (count++ >= BigInt(options.maxCount ?? Number.MAX_SAFE_INTEGER)) return;
            yield resolved(r);
          }
        })();
      },
      readAll(options: { fromPosition?: ReadPosition; direction?: string; maxCount?: number | bigint; filter?: Filter; requiresLeader?: boolean } = {}) {
        return (async function* () {
          await server.gate();
          const backwards = options.direction === BACKWARDS;
          let records = server.seenBy(options.requiresLeader).slice();
          const from = options.fromPosition ?? (backwards ? END : START);
          if (from !== START && from !== END) {
            const at = (from as Position).commit;
            // The server answers gRPC UNKNOWN, which the native core reports as UnavailableError, message and all.
            if (!records.some((r) => r.commit === at)) throw new UnavailableError(undefined, 'UnavailableError');
            records = records.filter((r) => (backwards ? r.commit <= at : r.commit >= at));
          }
          if (backwards) records.reverse();
          let count = 0n;
          for (const r of records) {
            if (!matches(r, options.filter)) continue;
            if (count++ >= BigInt(options.maxCount ?? Number.MAX_SAFE_INTEGER)) return;
            yield resolved(r);
          }
        })();
      },
      subscribeToAll(options: { fromPosition?: ReadPosition; filter?: Filter } = {}) {
        const feed = Object.assign(new PassThrough({ objectMode: true }), {
          unsubscribe: async () => {
            server.live.delete(subscription);
            feed.end();
          },
        });
        const subscription: LiveSubscription = { feed, filter: options.filter };
        const from = options.fromPosition ?? START;
        server.subscribedFrom.push(from === START ? 'start' : from === END ? server.nextPosition : (from as Position).commit);
        void (async () => {
          const up = await server.isUp(); // the error comes after the call returned, as the real client's does
          if (server.discoveryFails) {
            feed.emit('error', discoveryFailure());
            return;
          }
          if (!up) {
            feed.emit('error', unavailable());
            return;
          }
          const after = from === START ? -1n : from === END ? server.nextPosition : (from as Position).commit;
          for (const r of server.log) {
            const include = r.commit > after || (server.options.repeatBoundaryEvent === true && r.commit === after);
            if (include && matches(r, options.filter)) feed.write(resolved(r));
          }
          server.live.add(subscription);
        })();
        return feed as unknown as ReturnType<KurrentClient['subscribeToAll']>;
      },
      async createPersistentSubscriptionToAll(groupName: string, settings: PersistentSubscriptionToAllSettings, options: { filter?: Filter } = {}) {
        await server.groupGate(capabilities);
        if (server.groupManagementRefusal) throw server.groupManagementRefusal;
        if (server.groups.has(groupName)) {
          throw Object.assign(Object.create(PersistentSubscriptionExistsError.prototype) as Error, { message: `group ${groupName} exists`, groupName, streamName: '$all' });
        }
        const group: StandInGroup = { filter: options.filter, settings, updates: 0, queue: [], consumers: [], parked: [], acked: [], next: 0, handedBack: [], handedOut: [], consumersSeen: 0 };
        const after = settings.startFrom === START ? -1n : settings.startFrom === END ? server.nextPosition - 1n : (settings.startFrom as Position).commit - 1n;
        for (const r of server.log) if (r.commit > after && matches(r, group.filter)) group.queue.push({ record: r, retryCount: 0 });
        server.groups.set(groupName, group);
      },
      async getPersistentSubscriptionToAllInfo(groupName: string) {
        await server.groupGate(capabilities);
        if (server.groupManagementRefusal) throw server.groupManagementRefusal;
        const group = server.groups.get(groupName);
        if (!group) throw new PersistentSubscriptionDoesNotExistError(undefined, { streamName: '$all', groupName });
        return { eventSource: '$all', groupName, status: 'Live', settings: { ...group.settings }, connections: [] };
      },
      // Keeps what the group holds (its checkpoint is kept), and drops its consumers, as the server does.
      async updatePersistentSubscriptionToAll(groupName: string, settings: PersistentSubscriptionToAllSettings) {
        await server.groupGate(capabilities);
        if (server.groupManagementRefusal) throw server.groupManagementRefusal;
        const group = server.groups.get(groupName);
        if (!group) throw new PersistentSubscriptionDoesNotExistError(undefined, { streamName: '$all', groupName });
        group.settings = { ...settings };
        group.updates += 1;
        for (const consumer of [...group.consumers]) {
          server.leave(group, consumer);
          consumer.feed.emit('error', Object.assign(Object.create(PersistentSubscriptionDroppedError.prototype) as Error, { message: `group ${groupName} dropped`, groupName, streamName: '$all' }));
        }
      },
      subscribeToPersistentSubscriptionToAll(groupName: string, options: { bufferSize?: number } = {}) {
        const group = server.groups.get(groupName);
        const consumer: GroupConsumer = { feed: new PassThrough({ objectMode: true }), bufferSize: options.bufferSize ?? 10, inFlight: new Map(), number: group ? ++group.consumersSeen : 0 };
        const settle = (ids: string[], action?: PersistentAction, reason = '') => {
          if (!group) return;
          for (const id of ids) {
            const message = consumer.inFlight.get(id);
            if (!message) continue;
            consumer.inFlight.delete(id);
            if (action === undefined) group.acked.push(id);
            else if (action === RETRY) group.queue.unshift({ record: message.record, retryCount: message.retryCount + 1 });
            else if (action === PARK) group.parked.push({ id, reason });
          }
          server.pump(group);
        };
        const feed = Object.assign(consumer.feed, {
          ack: async (...events: PersistentSubscriptionToAllResolvedEvent[]) => {
            await server.gate();
            settle(events.map((e) => e.event!.id));
          },
          nack: async (action: PersistentAction, reason: string, ...events: PersistentSubscriptionToAllResolvedEvent[]) => {
            await server.gate();
            settle(events.map((e) => e.event!.id), action, reason);
          },
          unsubscribe: async () => {
            if (group) server.leave(group, consumer);
            consumer.feed.end();
          },
        });
        server.groupCalls += 1;
        void (async () => {
          try {
            await capabilities();
          } catch (error) {
            consumer.feed.emit('error', error);
            return;
          }
          if (!(await server.isUp())) {
            consumer.feed.emit('error', unavailable());
            return;
          }
          if (server.groupRefusal) {
            consumer.feed.emit('error', server.groupRefusal);
            return;
          }
          if (!group) {
            consumer.feed.emit('error', new Error(`no persistent subscription group ${groupName} on $all`));
            return;
          }
          group.consumers.push(consumer);
          server.pump(group);
        })();
        return feed as unknown as ReturnType<KurrentClient['subscribeToPersistentSubscriptionToAll']>;
      },
      async dispose() {
        client.disposed = true;
      },
    };
    return client as unknown as KurrentClient & { disposed: boolean };
  }

  /** A consumer that goes away: what it held unacked goes back to the group, first, for the others. */
  private leave(group: StandInGroup, consumer: GroupConsumer): void {
    const index = group.consumers.indexOf(consumer);
    if (index < 0) return;
    group.consumers.splice(index, 1);
    const back = [...consumer.inFlight.values()].map((m) => ({ record: m.record, retryCount: m.retryCount + 1 }));
    group.handedBack.push(...back.map((m) => m.record.id));
    consumer.inFlight.clear();
    group.queue.unshift(...back);
    this.pump(group);
  }

  /** Hands out what the group holds, round robin, to consumers with room in their buffer. */
  private pump(group: StandInGroup): void {
    while (group.queue.length > 0) {
      const open = group.consumers.filter((c) => c.inFlight.size < c.bufferSize);
      if (open.length === 0) return;
      const consumer = open[group.next++ % open.length];
      const message = group.queue.shift()!;
      consumer.inFlight.set(message.record.id, message);
      group.handedOut.push({ id: message.record.id, consumer: consumer.number, retryCount: message.retryCount });
      consumer.feed.write({ ...resolved(message.record), retryCount: message.retryCount });
    }
  }

  /** The log as a read sees it: from the leader, or from a follower `followerLag` records behind. */
  private seenBy(requiresLeader = false): Record[] {
    return requiresLeader || this.followerLag === 0 ? this.log : this.log.slice(0, Math.max(0, this.log.length - this.followerLag));
  }

  private async isUp(): Promise<boolean> {
    return !this.down && (await (this.options.reachable?.() ?? true));
  }

  /** `capabilities`: the calling client's own check, which comes first (its discovery), as in the real client. */
  private async groupGate(capabilities: () => Promise<void>): Promise<void> {
    this.groupCalls += 1;
    await capabilities();
    await this.gate();
    if (this.groupRefusal) throw this.groupRefusal;
  }

  private async gate(): Promise<void> {
    if (this.discoveryFails || !(await this.isUp())) throw unavailable();
  }

  private append(streamName: string, events: EventData[], state: AppendStreamState): AppendResult {
    const bytes = (value: unknown) => (value instanceof Uint8Array ? value.length : Buffer.byteLength(JSON.stringify(value ?? null)));
    const size = events.reduce((sum, e) => sum + bytes(e.data) + bytes(e.metadata) + Buffer.byteLength(e.type), 0);
    if (size > this.maxAppendSize) throw MaxAppendSizeExceededError.fromMaxAppendSize(this.maxAppendSize);
    const stream = this.log.filter((r) => r.streamId === streamName);
    const current = stream.length === 0 ? -1n : stream[stream.length - 1].revision;
    // Idempotence: ids the stream already holds, in the same order, are acknowledged, not written again.
    const start = stream.findIndex((r) => r.id === events[0].id);
    if (start >= 0 && events.every((e, i) => stream[start + i]?.id === e.id)) {
      const last = stream[start + events.length - 1];
      return { success: true, nextExpectedRevision: last.revision, position: { commit: last.commit, prepare: last.commit } };
    }
    const ok =
      state === ANY ||
      (state === NO_STREAM && current === -1n) ||
      (state === STREAM_EXISTS && current >= 0n) ||
      (typeof state === 'bigint' && state === current);
    if (!ok) {
      throw new WrongExpectedVersionError(undefined, { streamName, expected: state, current: current === -1n ? NO_STREAM : current });
    }
    this.appends += 1;
    if (this.appends % 3 === 0) this.writeSystemEvent();
    let last: Record | undefined;
    for (const e of events) {
      last = this.record({ streamId: streamName, id: e.id, type: e.type, data: e.data, metadata: e.metadata }, (last?.revision ?? current) + 1n);
    }
    return { success: true, nextExpectedRevision: last!.revision, position: { commit: last!.commit, prepare: last!.commit } };
  }

  private record(fields: Omit<Record, 'revision' | 'commit' | 'created'>, revision: bigint): Record {
    const r: Record = { ...fields, revision, commit: this.nextPosition, created: new Date() };
    // Positions are byte offsets: each record moves the next one on by its size.
    this.nextPosition += BigInt(120 + JSON.stringify(fields.data ?? null).length + fields.streamId.length);
    this.log.push(r);
    for (const subscription of this.live) if (matches(r, subscription.filter)) subscription.feed.write(resolved(r));
    for (const group of this.groups.values()) {
      if (!matches(r, group.filter)) continue;
      group.queue.push({ record: r, retryCount: 0 });
      this.pump(group);
    }
    return r;
  }
}

function matches(r: Record, filter?: Filter): boolean {
  if (!filter) return true;
  const subject = filter.filterOn === 'streamName' ? r.streamId : r.type;
  if ('prefixes' in filter) return filter.prefixes.some((p) => subject.startsWith(p));
  return new RegExp(filter.regex).test(subject);
}

function resolved(r: Record): AllStreamResolvedEvent {
  const isJson = !(r.data instanceof Uint8Array);
  return {
    event: {
      streamId: r.streamId,
      id: r.id,
      isJson,
      revision: r.revision,
      type: r.type,
      created: r.created,
      // The server keeps bytes: what comes back is a copy, never the object that was appended.
      data: isJson ? JSON.parse(JSON.stringify(r.data)) : r.data,
      metadata: r.metadata === undefined ? undefined : JSON.parse(JSON.stringify(r.metadata)),
      position: { commit: r.commit, prepare: r.commit },
    },
    commitPosition: r.commit,
  } as AllStreamResolvedEvent;
}

/** What the real client throws when the server refuses a call to the user (or to bad credentials). */
export function accessDenied(): Error {
  return Object.assign(Object.create(AccessDeniedError.prototype) as Error, { message: 'Access denied.', type: ErrorType.ACCESS_DENIED });
}

/** What the real client emits when a group's maxSubscriberCount is reached. */
export function maximumSubscribersReached(groupName: string): Error {
  return Object.assign(Object.create(PersistentSubscriptionMaximumSubscribersReachedError.prototype) as Error, {
    message: `group ${groupName}: maximum subscribers reached`,
    type: ErrorType.MAXIMUM_SUBSCRIBERS_REACHED,
    groupName,
    streamName: '$all',
  });
}

/** What the real client throws when nothing listens at the address. */
export function unavailable(): Error {
  return new UnavailableError(undefined, '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2113.');
}

/** What the real client's cluster discovery throws when no node answers its gossip (Client/discovery.js). */
export function discoveryFailure(): Error {
  return new Error('Failed to discover after 10 attempts.');
}

/** A port on 127.0.0.1 that nothing listens on: bound, then closed. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when something accepts a TCP connection at 127.0.0.1:port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
