// The event store on KurrentDB (formerly EventStoreDB), through
// @kurrent/kurrentdb-client. For deployments that outgrow one machine: a
// 3-node cluster gives quorum writes, and each service replica follows the log
// through a catch-up subscription to $all (see kurrentdb/follow.ts).
//
// "The log" of this port is $all narrowed to this service's streams (by stream
// name prefix), without anything the server writes for itself. Positions are
// KurrentDB commit positions: they only grow, but they are sparse (see
// kurrentdb/mapping.ts).
import type { Logger } from 'pino';
import {
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  START,
  StreamNotFoundError,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type ReadPosition,
} from '@kurrent/kurrentdb-client';
import type { NewEvent, StoredEvent } from '../../events/envelope.js';
import { isDispatchJournalStream } from '../../events/webhook-dispatch.js';
import {
  DuplicateEventError,
  StoreUnavailableError,
  StreamConflictError,
  type AppendResult,
  type EventStore,
  type EventsHandler,
  type ExpectedRevision,
  type ReadAllOptions,
  type StoreHealth,
  type Subscription,
} from './event-store.js';
import { clientFor } from './kurrentdb/connection-string.js';
import { describeEndpoint, isDiscoveryFailure, isTransient, translateError, unavailableReason } from './kurrentdb/errors.js';
import { follow, type Feed } from './kurrentdb/follow.js';
import { consumeGroup, type ConsumerGroup, type GroupConsumer } from './kurrentdb/group.js';
import { isSystemRecord, toAllPosition, toEventData, toStoredEvent, toStreamState } from './kurrentdb/mapping.js';

/** The streams this service writes: one per country, and the webhook endpoints'. */
export const SERVICE_STREAM_PREFIXES = ['country-', 'webhook-'] as const;

/**
 * Most events, and most bytes of data and metadata, in one append of an import. The server
 * refuses an append larger than its MaxAppendSize (1 MiB by default) whole; half of it leaves
 * room for what it counts besides (types, its own framing) and for an estimate.
 */
const IMPORT_BATCH_EVENTS = 500;
const IMPORT_BATCH_BYTES = 512 * 1024;

/** The largest read of $all a scan makes (scanAll). */
const SCAN_PAGE = 1_000;

/** The calls this adapter makes; a KurrentDBClient has them all. Tests stand in for it. */
export type KurrentClient = Pick<
  KurrentDBClient,
  | 'appendToStream'
  | 'readStream'
  | 'readAll'
  | 'subscribeToAll'
  | 'dispose'
  | 'createPersistentSubscriptionToAll'
  | 'getPersistentSubscriptionToAllInfo'
  | 'updatePersistentSubscriptionToAll'
  | 'subscribeToPersistentSubscriptionToAll'
>;

export interface KurrentDbEventStoreOptions {
  /** Streams that belong to this service; everything else in $all is passed over. */
  streamPrefixes?: readonly string[];
  logger?: Logger;
  /** How long /health/ready waits for the server before calling it unreachable, in ms. */
  healthTimeoutMs?: number;
  /** Backoff between resubscriptions after a drop. */
  retry?: { firstDelayMs?: number; maxDelayMs?: number };
  maxBatch?: number;
  /**
   * Streams whose events always carry fresh random ids, never one derived from a
   * request or a seed: appends there skip the read for duplicate ids (see
   * refuseDuplicates). Defaults to the webhook dispatch journals.
   */
  freshIdStreams?: (streamId: string) => boolean;
  /**
   * Makes a new client from the same connection string (connect() sets it), to replace one that
   * failed to discover the cluster (replaceAfter). Without it the client is never replaced.
   */
  newClient?: () => KurrentClient;
}

export class KurrentDbEventStore implements EventStore {
  /** No transaction across streams: an import is written stream batch by stream batch, and resumed by running it again. */
  readonly atomicImport = false;
  private readonly prefixes: string[];
  private readonly logger?: Logger;
  private readonly healthTimeoutMs: number;
  private readonly freshIdStreams: (streamId: string) => boolean;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  /**
   * Connects lazily: nothing is sent until the first call, so a start with the server down does not fail.
   * A connection string the client cannot read fails here (clientFor).
   */
  static connect(connectionString: string, options: KurrentDbEventStoreOptions = {}): KurrentDbEventStore {
    const endpoint = describeEndpoint(connectionString);
    const client = clientFor(connectionString, endpoint);
    return new KurrentDbEventStore(client, endpoint, { newClient: () => KurrentDBClient.connectionString(connectionString), ...options });
  }

  constructor(
    /** Replaced after a failed cluster discovery (replaceAfter): read it at each call, never keep it. */
    private client: KurrentClient,
    /** Where the server is, for messages: hosts only, never credentials. */
    readonly endpoint: string,
    private readonly options: KurrentDbEventStoreOptions = {},
  ) {
    this.prefixes = [...(options.streamPrefixes ?? SERVICE_STREAM_PREFIXES)];
    this.logger = options.logger;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 3_000;
    this.freshIdStreams = options.freshIdStreams ?? isDispatchJournalStream;
  }

  async append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) throw new Error('the event store is closed');
    if (events.length === 0) throw new Error('an append needs at least one event');
    if (!this.owns(streamId)) throw new Error(`stream ${streamId} is not one of this service's streams (${this.prefixes.join(', ')})`);
    const context = { endpoint: this.endpoint, streamId, expected };
    const client = this.client;
    try {
      await this.refuseDuplicates(streamId, events);
      const result = await client.appendToStream(streamId, events.map((e) => toEventData(e)), { streamState: toStreamState(expected) });
      if (!result.success) throw await this.conflict(streamId, expected);
      const last = Number(result.nextExpectedRevision);
      // The append answers with the last revision and one position; read the events
      // back for every event's position and the server's own `created` time.
      // From the leader, which has the write whatever node preference the connection has.
      const written = await this.readStreamFrom(streamId, last - events.length + 1, events.length, true);
      if (written.length !== events.length) {
        throw new StoreUnavailableError(`KurrentDB at ${this.endpoint} acknowledged an append to ${streamId} that could not be read back yet`);
      }
      // The server acknowledges an append of ids it already holds without writing (its
      // idempotence); if what is at these revisions is not what we sent, that is what happened.
      if (!written.every((e, i) => sameEvent(e, events[i]))) throw new DuplicateEventError(events[0].eventId);
      return { nextExpectedRevision: last, positions: written.map((e) => e.position), recordedAt: written[0].recordedAt };
    } catch (error) {
      this.replaceAfter(error, client);
      throw translateError(error, context);
    }
  }

  /**
   * After a failed cluster discovery the client fails every append and persistent subscription
   * call at once, for good (errors.ts, isDiscoveryFailure): it is replaced by a new one made from
   * the same connection string, which discovers the cluster again, and the old one is disposed
   * of. `failed` is the client the error came from, so calls failing together replace it once.
   * Subscriptions and groups reach the client through `this.client` each time they subscribe.
   */
  private replaceAfter(error: unknown, failed: object): void {
    if (this.closed || !this.options.newClient || failed !== this.client || !isDiscoveryFailure(error)) return;
    this.client = this.options.newClient();
    this.logger?.debug({ endpoint: this.endpoint }, 'KurrentDB cluster discovery failed: a new client will discover it again');
    this.disposeOf(failed as KurrentClient);
  }

  private disposeOf(client: KurrentClient): void {
    client.dispose().catch((error: unknown) => this.logger?.debug({ err: error }, 'disposing of a KurrentDB client failed'));
  }

  /*
   * Duplicate event ids. KurrentDB has no unique index on event ids. What it does:
   * an append whose ids match events already in *the same stream* is acknowledged
   * without writing (idempotent), reliably when the expected revision is exact and
   * on a best-effort basis (a cache of recent ids) with ANY. It never refuses a
   * duplicate, and an id in another stream is not noticed at all.
   *
   * To give the port's DuplicateEventError, the append first reads the target
   * stream and refuses ids it already holds. The limits, honestly:
   * - It costs one read of the stream per append (country streams are small).
   * - Two appends of the same new id racing on two replicas can both pass the
   *   check. The server's idempotence then usually keeps one copy and acknowledges
   *   the other; the read-back after the append compares what is stored with what
   *   was sent and refuses the swallowed one, unless the two were identical in
   *   type, data and metadata (requests differ at least in their causation id),
   *   in which case acknowledging both is the truth. With ANY and the id evicted
   *   from the server's cache, both copies could be written.
   * - The same id in a different stream is not checked on append (it would take a
   *   scan of $all); findEvent does that scan. This service derives deterministic
   *   ids (Idempotency-Key, seed events) only for events of one stream, so the
   *   stream check covers what it writes.
   * - Not in `freshIdStreams` (the webhook dispatch journals, `webhook-dispatcher-<replica>`),
   *   which grow for as long as a replica lives (an event every 20 s while it has retries
   *   pending), so the read would cost more with every append. Their events get a new
   *   uuid each (newDispatchJournalEvent, also when an append is tried again; a version-7
   *   uuid carries over 70 random bits beside its millisecond), and
   *   no request, statement id or seed ever names one: a duplicate there would be a uuid
   *   collision. An append repeated after an answer lost on the way (the same ids) expects
   *   the exact revision it knew, so the server's idempotence acknowledges it without
   *   writing, and the read-back below checks that what stands there is what was sent.
   *   The check within the batch itself still runs.
   */
  private async refuseDuplicates(streamId: string, events: NewEvent[]): Promise<void> {
    const ids = new Set(events.map((e) => e.eventId));
    if (ids.size < events.length) throw new DuplicateEventError(events.find((e, i) => events.findIndex((o) => o.eventId === e.eventId) !== i)!.eventId);
    if (this.freshIdStreams(streamId)) return;
    for (const existing of await this.readStreamFrom(streamId, 0, Number.MAX_SAFE_INTEGER, true)) {
      if (ids.has(existing.eventId)) throw new DuplicateEventError(existing.eventId);
    }
  }

  /**
   * With `throwOnAppendFailure=false` in the connection string the client answers a wrong
   * expected revision with `success: false` instead of throwing, and its
   * `nextExpectedRevision` is then not the stream's (1.x sets it to 1 or -1): read the
   * actual revision from the leader.
   */
  private async conflict(streamId: string, expected: ExpectedRevision): Promise<StreamConflictError> {
    const events = await this.readStreamFrom(streamId, 0, Number.MAX_SAFE_INTEGER, true);
    return new StreamConflictError(streamId, expected, events.length === 0 ? -1 : events[events.length - 1].streamRevision);
  }

  async readStream(streamId: string): Promise<StoredEvent[]> {
    return this.readStreamFrom(streamId, 0, Number.MAX_SAFE_INTEGER);
  }

  private async readStreamFrom(streamId: string, fromRevision: number, maxCount: number, requiresLeader = false): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, {
        fromRevision: fromRevision === 0 ? START : BigInt(fromRevision),
        maxCount,
        direction: FORWARDS,
        requiresLeader,
      })) {
        events.push(toStoredEvent(resolved));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw translateError(error, { endpoint: this.endpoint });
    }
    return events;
  }

  async readAll({ after, limit }: ReadAllOptions): Promise<StoredEvent[]> {
    if (limit <= 0) return [];
    try {
      return await this.readAllFrom(after === 0 ? 'start' : 'at', after, limit);
    } catch (error) {
      if (after === 0) throw translateError(error, { endpoint: this.endpoint });
      // The server refuses to start a read of $all in the middle of a record, and any
      // number can come in as `after` (GET /v1/events?after=5). Positions this store
      // handed out are always valid; for any other, scan from the start instead.
      // The refusal looks like a server that is down (the server answers gRPC UNKNOWN,
      // which the client's native core reports as UnavailableError): so the server is
      // asked for one record first, and only one that answers gets the scan. One that is
      // down or struggling (a deadline, an overload) is not sent a read of the whole log.
      if (!(await this.health()).ok) throw translateError(error, { endpoint: this.endpoint });
      try {
        return await this.readAllFrom('start', after, limit);
      } catch (retryError) {
        throw translateError(retryError, { endpoint: this.endpoint });
      }
    }
  }

  private async readAllFrom(from: 'start' | 'at', after: number, limit: number): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    // A forward read of $all includes the event at its start position, so ask for one
    // more; from the start, everything up to `after` is passed over.
    const page = from === 'at' ? limit + 1 : after === 0 ? limit : SCAN_PAGE;
    for await (const resolved of this.scanAll(FORWARDS, from === 'start' ? START : toAllPosition(after), page, Math.max(page, SCAN_PAGE))) {
      const event = this.accept(resolved);
      if (!event || event.position <= after) continue;
      events.push(event);
      if (events.length === limit) break;
    }
    return events;
  }

  subscribe(after: number, handler: EventsHandler, onError?: (error: unknown) => void): Subscription {
    let client = this.client; // the one the open feed came from
    const subscription = follow({
      after,
      open: (from) => {
        client = this.client;
        return client.subscribeToAll({
          // Subscribing from a position delivers what comes strictly after it.
          fromPosition: from === 0 ? START : toAllPosition(from),
          filter: this.filter(),
        }) as unknown as Feed;
      },
      accept: (item) => this.accept(item as AllStreamResolvedEvent),
      handler,
      isTransient,
      onError: (error) => {
        this.subscriptions.delete(subscription);
        if (onError) onError(error);
        else this.logger?.error({ err: error }, 'the subscription to KurrentDB stopped');
      },
      onDrop: ({ error, attempt, delayMs, resumeAfter }) => {
        this.replaceAfter(error, client);
        this.logger?.warn(
          { reason: unavailableReason(error, this.endpoint), attempt, delayMs, resumeAfter },
          'the subscription to KurrentDB dropped; resubscribing from the last event handled',
        );
      },
      retry: this.options.retry,
      maxBatch: this.options.maxBatch,
    });
    this.subscriptions.add(subscription);
    return {
      close: async () => {
        this.subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  /**
   * A persistent subscription group to this service's part of $all (created on first
   * use, from the end of $all): each event goes to one of the replicas consuming it.
   */
  consumerGroup(name: string): ConsumerGroup {
    return {
      name,
      consume: (handler, onFailure) => {
        const consumer: GroupConsumer = consumeGroup({
          client: () => this.client,
          onDrop: (error, client) => this.replaceAfter(error, client),
          group: name,
          filter: this.filter(),
          accept: (item) => this.accept(item),
          handler,
          logger: this.logger,
          onFailure,
        });
        const subscription = {
          close: async () => {
            this.subscriptions.delete(subscription);
            await consumer.close();
          },
        };
        this.subscriptions.add(subscription);
        return subscription;
      },
    };
  }

  async headPosition(): Promise<number> {
    try {
      // The newest record of our streams may be one accept() passes over (a deleted stream's
      // $streamDeleted tombstone, say): the head is the newest it takes.
      for await (const resolved of this.scanAll(BACKWARDS, END, 8, SCAN_PAGE)) {
        const event = this.accept(resolved);
        if (event) return event.position;
      }
      return 0;
    } catch (error) {
      throw translateError(error, { endpoint: this.endpoint });
    }
  }

  /**
   * KurrentDB cannot look an event up by id, so this scans this service's part of
   * $all from the newest event back: cheap for a retry of a recent request, a full
   * scan for an id that is not there. Fine for seeding and Idempotency-Key checks at
   * this service's write rates; a busier service would index ids in its read model.
   */
  async findEvent(eventId: string): Promise<StoredEvent | undefined> {
    try {
      for await (const resolved of this.scanAll(BACKWARDS, END, 32, SCAN_PAGE)) {
        if (resolved.event?.id !== eventId) continue;
        return this.accept(resolved);
      }
      return undefined;
    } catch (error) {
      throw translateError(error, { endpoint: this.endpoint });
    }
  }

  /** Reads the last record of $all, within a deadline: the cheapest call that proves the server answers. */
  async health(): Promise<StoreHealth> {
    if (this.closed) return { ok: false, reason: 'the event store is closed' };
    const probe = (async () => {
      // Read to its end (one record), not left open: see scanAll.
      for await (const _ of this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 }));
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(`KurrentDB at ${this.endpoint} did not answer within ${this.healthTimeoutMs} ms`)),
        this.healthTimeoutMs,
      );
    });
    try {
      await Promise.race([probe, deadline]);
      return { ok: true };
    } catch (error) {
      probe.catch(() => undefined);
      return { ok: false, reason: unavailableReason(error, this.endpoint) };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Copies a log exported from another store (`policy-state export`) into this one,
   * in log order, keeping each event's id, stream, revision, type, version, data,
   * metadata and original recordedAt. Positions become KurrentDB's own.
   *
   * Not all or nothing, unlike the SQLite import: KurrentDB has no transaction across
   * streams. It resumes instead: an event already there (the same id at the same
   * revision of its stream) is passed over, so after a failure part way (a bad line,
   * the server gone) running the same import again finishes it. A different event
   * already at a revision stops it. Returns how many events it wrote.
   */
  async importEvents(events: AsyncIterable<StoredEvent>, onProgress?: (written: number) => void): Promise<number> {
    const streams = new Map<string, string[]>(); // the ids each touched stream holds, by revision
    let batch: StoredEvent[] = [];
    let batchBytes = 0;
    let written = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      written += await this.importBatch(batch, streams);
      batch = [];
      batchBytes = 0;
      onProgress?.(written);
    };
    for await (const event of events) {
      // An event larger than the bound on its own still goes, alone: the server judges it.
      const bytes = Buffer.byteLength(JSON.stringify(event.data)) + Buffer.byteLength(JSON.stringify(event.metadata)) + Buffer.byteLength(event.type);
      const full = batch.length >= IMPORT_BATCH_EVENTS || batchBytes + bytes > IMPORT_BATCH_BYTES;
      if (batch.length > 0 && (batch[0].streamId !== event.streamId || full)) await flush();
      batch.push(event);
      batchBytes += bytes;
    }
    await flush();
    return written;
  }

  private async importBatch(batch: StoredEvent[], streams: Map<string, string[]>): Promise<number> {
    const streamId = batch[0].streamId;
    if (!this.owns(streamId)) throw new Error(`stream ${streamId} is not one of this service's streams (${this.prefixes.join(', ')})`);
    let ids = streams.get(streamId);
    if (!ids) {
      // From the leader: a follower behind it would show fewer events, and the append below would
      // send some again at a stale expected revision, a conflict.
      ids = (await this.readStreamFrom(streamId, 0, Number.MAX_SAFE_INTEGER, true)).map((e) => e.eventId);
      streams.set(streamId, ids);
    }
    const missing: StoredEvent[] = [];
    for (const event of batch) {
      const there = ids[event.streamRevision];
      if (there === event.eventId) continue; // imported by an earlier run
      if (there !== undefined) throw new Error(`stream ${streamId} already holds event ${there} at revision ${event.streamRevision}, not ${event.eventId}`);
      if (event.streamRevision !== ids.length + missing.length) {
        throw new Error(`event ${event.eventId} is at revision ${event.streamRevision} of ${streamId}, but the next revision there is ${ids.length + missing.length}`);
      }
      missing.push(event);
    }
    if (missing.length === 0) return 0;
    const expected: ExpectedRevision = ids.length === 0 ? 'no-stream' : ids.length - 1;
    const client = this.client;
    try {
      const result = await client.appendToStream(streamId, missing.map((e) => toEventData(e, e.recordedAt)), { streamState: toStreamState(expected) });
      if (!result.success) throw await this.conflict(streamId, expected);
    } catch (error) {
      this.replaceAfter(error, client);
      throw translateError(error, { endpoint: this.endpoint, streamId, expected });
    }
    ids.push(...missing.map((e) => e.eventId));
    return missing.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    this.subscriptions.clear();
    await this.client.dispose();
  }

  private filter() {
    return streamNameFilter({ prefixes: this.prefixes });
  }

  /**
   * This service's part of $all from `from`, record by record, in bounded reads (maxCount), each
   * read to its end before its records are handed out: the client's native core keeps a read
   * left part way open until garbage collection (its iterator has no return()), so a caller may
   * stop early at no cost. Pages start at `first` records and double up to `max`. The next page
   * starts at the last record's position, which a read from it includes (forwards) or may
   * (backwards): records at or past it are passed over.
   */
  private async *scanAll(direction: typeof FORWARDS | typeof BACKWARDS, from: ReadPosition, first: number, max: number): AsyncGenerator<AllStreamResolvedEvent> {
    let fromPosition = from;
    let size = first;
    let last: bigint | undefined;
    for (;;) {
      const page: AllStreamResolvedEvent[] = [];
      for await (const resolved of this.client.readAll({ fromPosition, direction, maxCount: size, filter: this.filter() })) page.push(resolved);
      for (const resolved of page) {
        const commit = resolved.event?.position?.commit;
        if (last !== undefined && commit !== undefined && (direction === FORWARDS ? commit <= last : commit >= last)) continue;
        yield resolved;
      }
      const end = page.at(-1)?.event?.position;
      if (page.length < size || !end) return;
      fromPosition = end;
      last = end.commit;
      // At least 2 from here on: a page that starts with the record already seen still moves on.
      size = Math.max(2, Math.min(size * 2, max));
    }
  }

  private owns(streamId: string): boolean {
    return this.prefixes.some((prefix) => streamId.startsWith(prefix));
  }

  /** The server filters by prefix; this also drops anything it writes for itself, whatever the filter. */
  private accept(resolved: AllStreamResolvedEvent): StoredEvent | undefined {
    if (isSystemRecord(resolved) || !this.owns(resolved.event!.streamId)) return undefined;
    return toStoredEvent(resolved);
  }
}

/** Same id, type, version, data and metadata: the event in the log is the one that was sent. */
function sameEvent(stored: StoredEvent, sent: NewEvent): boolean {
  return (
    stored.eventId === sent.eventId &&
    stored.type === sent.type &&
    stored.schemaVersion === sent.schemaVersion &&
    canonical(stored.data) === canonical(sent.data) &&
    canonical(stored.metadata) === canonical(sent.metadata ?? {})
  );
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
