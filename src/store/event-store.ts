// The port every event store implements (embedded SQLite, KurrentDB), and the
// typed errors it fails with. Both adapters pass test/store/contract.ts.
import type { NewEvent, StoredEvent } from '../../events/envelope.js';

/** What the stream must look like for an append to go through. */
export type ExpectedRevision = 'any' | 'no-stream' | number;

export interface AppendResult {
  /** The revision of the last event appended; the next append expects this. */
  nextExpectedRevision: number;
  /** Log positions of the appended events, in order. */
  positions: number[];
  recordedAt: string;
}

export interface ReadAllOptions {
  /** Events strictly after this log position (0 = from the start). */
  after: number;
  limit: number;
}

export interface Subscription {
  close(): Promise<void>;
}

export type EventsHandler = (events: StoredEvent[]) => Promise<void> | void;

export interface StoreHealth {
  ok: boolean;
  reason?: string;
}

export interface EventStore {
  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /** All events of a stream in revision order; empty if there is no such stream. */
  readStream(streamId: string): Promise<StoredEvent[]>;
  readAll(options: ReadAllOptions): Promise<StoredEvent[]>;
  /** Delivers every event after `after`, in order and in batches, then follows new ones as they commit. */
  subscribe(after: number, handler: EventsHandler, onError?: (error: unknown) => void): Subscription;
  /** The position of the last committed event (0 for an empty log). */
  headPosition(): Promise<number>;
  findEvent(eventId: string): Promise<StoredEvent | undefined>;
  /**
   * Copies a log exported from another store, keeping event ids, streams,
   * revisions and recordedAt. The embedded store writes it all or nothing into an
   * empty log; KurrentDB has no transaction across streams, so it writes stream
   * batches (after importLogFile has checked the whole file) and can be run again
   * to finish an import its server cut short.
   */
  importEvents(events: AsyncIterable<StoredEvent>, onProgress?: (written: number) => void): Promise<number>;
  /** Whether importEvents writes all or nothing; when not, importLogFile checks the whole file before it writes. */
  readonly atomicImport: boolean;
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}

/** The stream was not in the state the append expected. */
export class StreamConflictError extends Error {
  override readonly name = 'StreamConflictError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** -1 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(`stream ${streamId} expected ${describeExpected(expected)} but is at ${actual < 0 ? 'no stream' : `revision ${actual}`}`);
  }
}

/** An event with this id is already in the log. */
export class DuplicateEventError extends Error {
  override readonly name = 'DuplicateEventError';
  constructor(readonly eventId: string) {
    super(`event ${eventId} is already in the log`);
  }
}

/** The store cannot be reached right now; the caller may retry later. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
  }
}

function describeExpected(expected: ExpectedRevision): string {
  if (expected === 'any') return 'any state';
  if (expected === 'no-stream') return 'no stream';
  return `revision ${expected}`;
}

export function satisfies(expected: ExpectedRevision, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no-stream') return actual === -1;
  return expected === actual;
}
