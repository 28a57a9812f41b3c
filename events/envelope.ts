// What the store keeps around each event's data. The store sets `position`,
// `streamRevision` and `recordedAt`; a client never does.

/**
 * What a correlation id the log keeps looks like: short and plain, like a
 * request id. The log is immutable and public, so a client's id that is not
 * (12,000 characters, control characters) is never written to it.
 */
export const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  /** The name (never the secret) of the API key that wrote the event. */
  apiKey?: string;
  /** The `Idempotency-Key` of the request that wrote it, and a hash of that request's body. */
  idempotencyKey?: string;
  requestHash?: string;
}

/** An event about to be appended. */
export interface NewEvent {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
}

/** An event as the log holds it, in the schema version it was written with. */
export interface StoredEvent extends NewEvent {
  streamId: string;
  /** 0-based revision of the event within its stream. */
  streamRevision: number;
  /** The global log position: 1-based, only grows. */
  position: number;
  /** ISO timestamp set by the store when the event was committed. */
  recordedAt: string;
}
