// The embedded event store: one SQLite file in WAL mode with synchronous=FULL,
// so an acknowledged append has been fsynced. Appends that arrive while a
// commit is being prepared share one transaction (group commit); each keeps
// its own savepoint and expected-revision check, so one failing append never
// takes the others down with it.
import Database from 'better-sqlite3';
import type { NewEvent, StoredEvent } from '../../events/envelope.js';
import {
  DuplicateEventError,
  StreamConflictError,
  satisfies,
  type AppendResult,
  type EventStore,
  type EventsHandler,
  type ExpectedRevision,
  type ReadAllOptions,
  type StoreHealth,
  type Subscription,
} from './event-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position        INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id        TEXT    NOT NULL UNIQUE,
  stream_id       TEXT    NOT NULL,
  stream_revision INTEGER NOT NULL,
  type            TEXT    NOT NULL,
  schema_version  INTEGER NOT NULL,
  data            TEXT    NOT NULL,
  metadata        TEXT    NOT NULL,
  recorded_at     TEXT    NOT NULL,
  UNIQUE (stream_id, stream_revision)
);
CREATE TRIGGER IF NOT EXISTS events_are_immutable_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
CREATE TRIGGER IF NOT EXISTS events_are_immutable_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
`;

interface EventRow {
  position: number;
  event_id: string;
  stream_id: string;
  stream_revision: number;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
  recorded_at: string;
}

interface PendingAppend {
  streamId: string;
  events: NewEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export interface SqliteEventStoreOptions {
  /** How often a follower looks for events committed by another process, in ms. */
  pollIntervalMs?: number;
  readBatchSize?: number;
}

export class SqliteEventStore implements EventStore {
  readonly atomicImport = true;
  private readonly db: Database.Database;
  private readonly statements;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private lastRecordedAt = 0;
  private readonly commitListeners = new Set<() => void>();
  private readonly pollIntervalMs: number;
  private readonly readBatchSize: number;
  private closed = false;
  private importing = false;
  /** The rows of the last commit in this process, as the file holds them: a subscription right behind it takes them from here. */
  private lastCommit: EventRow[] = [];

  constructor(readonly file: string, options: SqliteEventStoreOptions = {}) {
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.readBatchSize = options.readBatchSize ?? 1_000;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss,
    // and an acknowledged statement must never be lost.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.statements = {
      streamRevision: this.db.prepare<[string], { revision: number | null }>(
        'SELECT MAX(stream_revision) AS revision FROM events WHERE stream_id = ?',
      ),
      eventExists: this.db.prepare<[string], { one: number }>('SELECT 1 AS one FROM events WHERE event_id = ?'),
      insert: this.db.prepare(
        `INSERT INTO events (event_id, stream_id, stream_revision, type, schema_version, data, metadata, recorded_at)
         VALUES (@eventId, @streamId, @streamRevision, @type, @schemaVersion, @data, @metadata, @recordedAt)`,
      ),
      readStream: this.db.prepare<[string], EventRow>('SELECT * FROM events WHERE stream_id = ? ORDER BY stream_revision'),
      readAll: this.db.prepare<[number, number], EventRow>('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
      head: this.db.prepare<[], { head: number | null }>('SELECT MAX(position) AS head FROM events'),
      findEvent: this.db.prepare<[string], EventRow>('SELECT * FROM events WHERE event_id = ?'),
      lastRecordedAt: this.db.prepare<[], { recorded_at: string }>('SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1'),
      // Transaction control, prepared once: exec() would parse the SQL again on every append.
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
      savepoint: this.db.prepare('SAVEPOINT append_one'),
      release: this.db.prepare('RELEASE append_one'),
      rollbackToSavepoint: this.db.prepare('ROLLBACK TO append_one'),
    };
    const last = this.statements.lastRecordedAt.get();
    if (last) this.lastRecordedAt = Date.parse(last.recorded_at);
  }

  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('the event store is closed'));
    if (this.importing) return Promise.reject(new Error('the event store is importing a log'));
    if (events.length === 0) return Promise.reject(new Error('an append needs at least one event'));
    return new Promise((resolve, reject) => {
      this.pending.push({ streamId, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate lets every append issued in this turn of the event loop join the commit.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    // recordedAt never goes backwards, so "the day an event was recorded" is monotonic in the log.
    this.lastRecordedAt = Math.max(Date.now(), this.lastRecordedAt);
    const recordedAt = new Date(this.lastRecordedAt).toISOString();
    const outcomes: Array<{ ok: true; result: AppendResult } | { ok: false; error: unknown }> = [];
    const committed: EventRow[] = [];
    try {
      this.statements.begin.run();
      for (const request of batch) {
        // An append of one event checks everything before it writes, and its one insert
        // is atomic: only an append of several needs a savepoint to undo the first few.
        const savepoint = request.events.length > 1;
        if (savepoint) this.statements.savepoint.run();
        try {
          const rows: EventRow[] = [];
          outcomes.push({ ok: true, result: this.appendInTransaction(request, recordedAt, rows) });
          if (savepoint) this.statements.release.run();
          for (const row of rows) committed.push(row);
        } catch (error) {
          if (savepoint) {
            this.statements.rollbackToSavepoint.run();
            this.statements.release.run();
          }
          outcomes.push({ ok: false, error });
        }
      }
      this.statements.commit.run();
    } catch (error) {
      if (this.db.inTransaction) this.statements.rollback.run();
      for (const request of batch) request.reject(error);
      return;
    }
    this.lastCommit = committed;
    batch.forEach((request, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) request.resolve(outcome.result);
      else request.reject(outcome.error);
    });
    if (outcomes.some((o) => o.ok)) for (const listener of this.commitListeners) listener();
  }

  private appendInTransaction(request: PendingAppend, recordedAt: string, rows: EventRow[]): AppendResult {
    const actual = this.currentRevision(request.streamId);
    if (!satisfies(request.expected, actual)) {
      throw new StreamConflictError(request.streamId, request.expected, actual);
    }
    const positions: number[] = [];
    let revision = actual;
    for (const event of request.events) {
      if (this.statements.eventExists.get(event.eventId)) throw new DuplicateEventError(event.eventId);
      revision += 1;
      const data = JSON.stringify(event.data);
      const metadata = JSON.stringify(event.metadata ?? {});
      const info = this.statements.insert.run({
        eventId: event.eventId,
        streamId: request.streamId,
        streamRevision: revision,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data,
        metadata,
        recordedAt,
      });
      const position = Number(info.lastInsertRowid);
      positions.push(position);
      rows.push({
        position,
        event_id: event.eventId,
        stream_id: request.streamId,
        stream_revision: revision,
        type: event.type,
        schema_version: event.schemaVersion,
        data,
        metadata,
        recorded_at: recordedAt,
      });
    }
    return { nextExpectedRevision: revision, positions, recordedAt };
  }

  private currentRevision(streamId: string): number {
    return this.statements.streamRevision.get(streamId)?.revision ?? -1;
  }

  /**
   * Copies a log exported from another store into this empty one, keeping event ids,
   * streams, revisions and recordedAt (the original system time, not this one's).
   * One transaction: an error anywhere leaves the store as empty as it was.
   */
  async importEvents(events: AsyncIterable<StoredEvent>, onProgress?: (written: number) => void): Promise<number> {
    if ((await this.headPosition()) > 0) throw new Error('an import needs an empty event store');
    this.importing = true;
    this.lastCommit = [];
    let count = 0;
    this.statements.begin.run();
    try {
      for await (const event of events) {
        this.statements.insert.run({
          eventId: event.eventId,
          streamId: event.streamId,
          streamRevision: event.streamRevision,
          type: event.type,
          schemaVersion: event.schemaVersion,
          data: JSON.stringify(event.data),
          metadata: JSON.stringify(event.metadata ?? {}),
          recordedAt: event.recordedAt,
        });
        count += 1;
        if (count % 10_000 === 0) onProgress?.(count);
      }
      this.statements.commit.run();
    } catch (error) {
      this.statements.rollback.run();
      throw error;
    } finally {
      this.importing = false;
    }
    const last = this.statements.lastRecordedAt.get();
    if (last) this.lastRecordedAt = Math.max(this.lastRecordedAt, Date.parse(last.recorded_at));
    for (const listener of this.commitListeners) listener();
    return count;
  }

  async readStream(streamId: string): Promise<StoredEvent[]> {
    return this.statements.readStream.all(streamId).map(toStoredEvent);
  }

  async readAll({ after, limit }: ReadAllOptions): Promise<StoredEvent[]> {
    return this.readAllSync(after, limit);
  }

  private readAllSync(after: number, limit: number): StoredEvent[] {
    return this.statements.readAll.all(after, limit).map(toStoredEvent);
  }

  subscribe(after: number, handler: EventsHandler, onError?: (error: unknown) => void): Subscription {
    let cursor = after;
    let stopped = false;
    let wake: (() => void) | undefined;
    const listener = () => wake?.();
    this.commitListeners.add(listener);
    const follow = async () => {
      while (!stopped && !this.closed) {
        const batch = this.justCommitted(cursor) ?? this.readAllSync(cursor, this.readBatchSize);
        if (batch.length > 0) {
          await handler(batch);
          cursor = batch[batch.length - 1].position;
          continue;
        }
        // Woken at once by a commit in this process; the timer finds commits by other processes.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollIntervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    };
    const done = follow().catch((error) => {
      if (onError) onError(error);
      else throw error;
    });
    return {
      close: async () => {
        stopped = true;
        this.commitListeners.delete(listener);
        wake?.();
        await done;
      },
    };
  }

  /**
   * The events of this process's last commit when they are the ones that follow
   * `after`, built from the rows it wrote, as a read of the file would build
   * them (each subscription its own objects): a subscription keeping up with
   * the writes need not read back every commit. Otherwise undefined: read.
   * A commit is handed over whole, past readBatchSize: its rows are in memory already.
   */
  private justCommitted(after: number): StoredEvent[] | undefined {
    const rows = this.lastCommit;
    if (rows.length === 0 || rows[0].position !== after + 1) return undefined;
    return rows.map(toStoredEvent);
  }

  async headPosition(): Promise<number> {
    return this.statements.head.get()?.head ?? 0;
  }

  async findEvent(eventId: string): Promise<StoredEvent | undefined> {
    const row = this.statements.findEvent.get(eventId);
    return row ? toStoredEvent(row) : undefined;
  }

  async health(): Promise<StoreHealth> {
    if (this.closed) return { ok: false, reason: 'the event store is closed' };
    return { ok: true };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.pending.length > 0) this.flush();
    this.closed = true;
    for (const listener of this.commitListeners) listener();
    this.db.close();
  }
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    streamId: row.stream_id,
    streamRevision: row.stream_revision,
    position: row.position,
    type: row.type,
    schemaVersion: row.schema_version,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
    recordedAt: row.recorded_at,
  };
}
