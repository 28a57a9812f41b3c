// What the store keeps around each event's data. The store sets `position`,
// `streamRevision` and `recordedAt`; a client never does.

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
