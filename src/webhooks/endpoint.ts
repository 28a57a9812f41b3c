// An endpoint's state as its stream tells it: a pure fold of its events, used
// by the commands (to decide against the stream) and by the projection in
// webhooks.db (to decide what to deliver). No clock, no I/O.
import type { StoredEvent } from '../../events/envelope.js';
import { upcast } from '../../events/registry.js';
import type { ChangeTypeName, DisabledReason, WebhookEndpointEventData, WebhookEndpointEventType } from '../../events/webhook-endpoint.js';
import type { z } from 'zod';
import type { Change, ChangeType } from '../../projections/changes.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
/** Fails to compile when a change type is added to the projections but not to the filters. */
export type FiltersCoverEveryChangeType = Assert<Same<z.infer<typeof ChangeTypeName>, ChangeType>>;

export type EndpointEvent = {
  [T in WebhookEndpointEventType]: Omit<StoredEvent, 'type' | 'data'> & { type: T; data: WebhookEndpointEventData<T> };
}[WebhookEndpointEventType];

export function decodeEndpointEvent(stored: StoredEvent): EndpointEvent {
  return { ...stored, data: upcast(stored.type, stored.schemaVersion, stored.data) } as EndpointEvent;
}

export interface SealedKey {
  sealed: string;
  /** Until when a previous secret keeps signing; null for the current one. */
  until: string | null;
}

/** The `endpoint.disabled` note. */
export interface DisabledNote {
  type: 'endpoint.disabled';
  reason: z.infer<typeof DisabledReason>;
  detail: string;
  at: string;
  position: number;
  failingSince: string | null;
  /** Replay from here (POST .../replay {"after": n}) to get every change the endpoint missed. */
  replayAfter: number;
}

export interface Endpoint {
  id: string;
  url: string;
  description: string;
  types: ChangeType[] | null;
  countries: string[] | null;
  enabled: boolean;
  disabled: DisabledNote | null;
  deleted: boolean;
  /** The current secret first. */
  secrets: SealedKey[];
  createdAt: string;
  /** The log position of its creation: live deliveries are of changes stamped with it or later (a new day's changes carry the last event's position). */
  createdPosition: number;
  updatedAt: string;
  /** Stream revision and log position of its last event. */
  revision: number;
  position: number;
}

export function evolveEndpoint(state: Endpoint | undefined, event: EndpointEvent): Endpoint | undefined {
  const touched = (endpoint: Endpoint): Endpoint => ({ ...endpoint, updatedAt: event.recordedAt, revision: event.streamRevision, position: event.position });
  if (event.type === 'WebhookEndpointCreated') {
    if (state) return state;
    const { endpointId, url, description, types, countries, secret } = event.data;
    return {
      id: endpointId,
      url,
      description,
      types,
      countries,
      enabled: true,
      disabled: null,
      deleted: false,
      secrets: [{ sealed: secret, until: null }],
      createdAt: event.recordedAt,
      createdPosition: event.position,
      updatedAt: event.recordedAt,
      revision: event.streamRevision,
      position: event.position,
    };
  }
  if (!state) return undefined;
  switch (event.type) {
    case 'WebhookEndpointUpdated': {
      const { endpointId: _id, ...changed } = event.data;
      const defined = Object.fromEntries(Object.entries(changed).filter(([, v]) => v !== undefined));
      return touched({ ...state, ...defined });
    }
    case 'WebhookEndpointSecretRotated':
      // Only the secret just replaced keeps signing; one rotated out before it stops now.
      return touched({ ...state, secrets: [{ sealed: event.data.secret, until: null }, { sealed: state.secrets[0].sealed, until: event.data.previousValidUntil }] });
    case 'WebhookEndpointDisabled': {
      const { reason, detail, failingSince, replayAfter } = event.data;
      const disabled: DisabledNote = { type: 'endpoint.disabled', reason, detail, at: event.recordedAt, position: event.position, failingSince: failingSince ?? null, replayAfter };
      return touched({ ...state, enabled: false, disabled });
    }
    case 'WebhookEndpointEnabled':
      return touched({ ...state, enabled: true, disabled: null });
    case 'WebhookEndpointDeleted':
      return touched({ ...state, enabled: false, deleted: true });
  }
}

/** The secrets that sign a message sent at `now`: the current one, and the previous one during its overlap. */
export function signingKeys(endpoint: Endpoint, now: number): SealedKey[] {
  return endpoint.secrets.filter((key) => key.until === null || Date.parse(key.until) > now);
}

export function wants(endpoint: Endpoint, change: Pick<Change, 'type' | 'country'>): boolean {
  return (endpoint.types === null || endpoint.types.includes(change.type)) && (endpoint.countries === null || endpoint.countries.includes(change.country));
}
