// The dispatch journal of the replicas of a KurrentDB deployment, one stream per
// replica, `webhook-dispatcher-<replicaId>` (see src/webhooks/dispatch-journal.ts).
// A replica records there which log events' changes it took on to deliver, and
// when all their deliveries have settled, so that when it dies for good another
// replica can see what it left unfinished and take it over. Each event renews
// the replica's lease: until `leaseUntil` (its clock) nobody else touches its
// share. These are operational records of delivery, not statements: the
// projections of positions never read them.
import { newId } from './event-ids.js';
import { z } from 'zod';
import type { NewEvent, StoredEvent } from './envelope.js';

export const ReplicaId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, "_" or "-"');

const Positions = z.array(z.number().int().min(0)).max(100_000);

/** The replica took on the deliveries of the changes of these log events. */
export const WebhookDispatchClaimed = z.object({ replicaId: ReplicaId, positions: Positions, leaseUntil: z.number().int() }).strict();

/** Every delivery of these log events' changes has settled (delivered, given up or cancelled); also renews the lease. */
export const WebhookDispatchSettled = z.object({ replicaId: ReplicaId, positions: Positions, leaseUntil: z.number().int() }).strict();

/** Written by `replicaId` into the stream of `from`, whose lease had run out: these events are now `replicaId`'s. */
export const WebhookDispatchTakenOver = z.object({ replicaId: ReplicaId, from: ReplicaId, positions: Positions }).strict();

export const dispatchJournalCatalog = {
  WebhookDispatchClaimed: { schema: WebhookDispatchClaimed, version: 1, upcasters: {} },
  WebhookDispatchSettled: { schema: WebhookDispatchSettled, version: 1, upcasters: {} },
  WebhookDispatchTakenOver: { schema: WebhookDispatchTakenOver, version: 1, upcasters: {} },
};

export type DispatchJournalEventType = keyof typeof dispatchJournalCatalog;
export type DispatchJournalData<T extends DispatchJournalEventType> = z.infer<(typeof dispatchJournalCatalog)[T]['schema']>;
export type DispatchJournalEvent = { [T in DispatchJournalEventType]: { type: T; data: DispatchJournalData<T>; streamRevision: number; position: number } }[DispatchJournalEventType];

const PREFIX = 'webhook-dispatcher-';
export const dispatchJournalStream = (replicaId: string): string => `${PREFIX}${replicaId}`;
export const isDispatchJournalStream = (streamId: string): boolean => streamId.startsWith(PREFIX);
export const replicaOfJournal = (streamId: string): string => streamId.slice(PREFIX.length);

export function newDispatchJournalEvent<T extends DispatchJournalEventType>(type: T, data: DispatchJournalData<T>): NewEvent {
  const definition = dispatchJournalCatalog[type];
  return { eventId: newId(), type, schemaVersion: definition.version, data: definition.schema.parse(data), metadata: {} };
}

/** The journal event, or undefined for anything else (or a record this version cannot read). */
export function decodeDispatchJournalEvent(stored: StoredEvent): DispatchJournalEvent | undefined {
  if (!isDispatchJournalStream(stored.streamId) || !Object.hasOwn(dispatchJournalCatalog, stored.type)) return undefined;
  const parsed = dispatchJournalCatalog[stored.type as DispatchJournalEventType].schema.safeParse(stored.data);
  return parsed.success ? ({ type: stored.type, data: parsed.data, streamRevision: stored.streamRevision, position: stored.position } as DispatchJournalEvent) : undefined;
}
