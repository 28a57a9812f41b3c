// The write side for endpoints: decides against the endpoint's stream as the
// log holds it, appends with optimistic concurrency, and answers once the
// projection has applied the append (read your own writes).
import { createHash, randomBytes } from 'node:crypto';
import type { EventMetadata, NewEvent } from '../../events/envelope.js';
import { endpointStream, newEndpointEvent, type ChangeTypeName } from '../../events/webhook-endpoint.js';
import type { z } from 'zod';
import { DomainRuleError } from '../statements/errors.js';
import { StreamConflictError, type EventStore } from '../store/event-store.js';
import { hostOf, RefusedAddressError, type AddressPolicy } from './address-safety.js';
import { decodeEndpointEvent, evolveEndpoint, type Endpoint } from './endpoint.js';
import type { EndpointProjection } from './endpoint-projection.js';
import type { SecretBox } from './secret-box.js';
import { generateSecret } from './signing.js';
import type { DisableRequest } from './delivery-worker.js';

/** An endpoint's URL could not be checked because DNS did not answer: a 503, to be tried again. */
export class DnsUnavailableError extends Error {
  override readonly name = 'DnsUnavailableError';
}

export interface EndpointInput {
  url: string;
  description?: string;
  types?: Array<z.infer<typeof ChangeTypeName>> | null;
  countries?: string[] | null;
}

export interface EndpointPatch extends Partial<EndpointInput> {
  enabled?: boolean;
}

export interface IssuedSecret {
  endpoint: Endpoint;
  /** Shown once; the log and webhooks.db only hold it sealed. */
  secret: string;
}

const RETRIES_ON_CONFLICT = 5;

export class EndpointService {
  constructor(
    private readonly store: EventStore,
    private readonly projection: EndpointProjection,
    private readonly box: SecretBox,
    private readonly policy: AddressPolicy,
    private readonly rotationOverlapMs: number,
    private readonly now: () => number,
    /** The log position after which a replay brings back what the endpoint has not received. */
    private readonly replayAfter: (endpointId: string, failingSince?: number) => number,
  ) {}

  /**
   * `eventId`: the id an Idempotency-Key gives the event. The endpoint's id is then made from it
   * too, so every repeat of the request appends to the same new stream and all but the first are
   * refused by the store, on KurrentDB too (which checks event ids within a stream only).
   */
  async create(input: EndpointInput, metadata: EventMetadata = {}, eventId?: string): Promise<IssuedSecret> {
    await this.checkUrl(input.url);
    const endpointId = eventId ? `ep_${createHash('sha256').update(eventId).digest('base64url').slice(0, 16)}` : `ep_${randomBytes(12).toString('base64url')}`;
    const secret = generateSecret();
    const created = newEndpointEvent('WebhookEndpointCreated', { endpointId, ...input, secret: this.box.seal(secret) }, metadata);
    const event = eventId ? { ...created, eventId } : created;
    const result = await this.store.append(endpointStream(endpointId), [event], 'no-stream');
    return { endpoint: await this.settled(endpointId, result.positions[0]), secret };
  }

  async update(endpointId: string, patch: EndpointPatch, metadata: EventMetadata = {}): Promise<Endpoint | undefined> {
    if (patch.url !== undefined) await this.checkUrl(patch.url);
    return this.decide(endpointId, (endpoint) => {
      const events: NewEvent[] = [];
      const { enabled, ...fields } = patch;
      const changed = Object.entries(fields).filter(([key, value]) => value !== undefined && JSON.stringify(value) !== JSON.stringify(endpoint[key as keyof Endpoint]));
      if (changed.length > 0) events.push(newEndpointEvent('WebhookEndpointUpdated', { endpointId, ...Object.fromEntries(changed) }, metadata));
      if (enabled === true && !endpoint.enabled) events.push(newEndpointEvent('WebhookEndpointEnabled', { endpointId }, metadata));
      if (enabled === false && endpoint.enabled) {
        events.push(
          newEndpointEvent('WebhookEndpointDisabled', { endpointId, reason: 'manual', detail: 'disabled through the API', replayAfter: this.replayAfter(endpointId) }, metadata),
        );
      }
      return events;
    });
  }

  /**
   * Issues a new secret, sealed under this service's key. The previous one keeps signing for the
   * overlap, unless this service cannot open it (sealed under another key, as after a restore
   * without the key): then it stops at once, since it could not sign anyway.
   */
  async rotateSecret(endpointId: string, metadata: EventMetadata = {}): Promise<(IssuedSecret & { previousValidUntil: string }) | undefined> {
    const secret = generateSecret();
    let previousValidUntil = '';
    const endpoint = await this.decide(endpointId, (current) => {
      const overlapMs = this.box.canOpen(current.secrets[0].sealed) ? this.rotationOverlapMs : 0;
      previousValidUntil = new Date(this.now() + overlapMs).toISOString();
      return [newEndpointEvent('WebhookEndpointSecretRotated', { endpointId, secret: this.box.seal(secret), previousValidUntil }, metadata)];
    });
    return endpoint && { endpoint, secret, previousValidUntil };
  }

  async delete(endpointId: string, metadata: EventMetadata = {}): Promise<boolean> {
    return (await this.decide(endpointId, () => [newEndpointEvent('WebhookEndpointDeleted', { endpointId }, metadata)])) !== undefined;
  }

  /** Used by the delivery worker on a 410 or after days of failure. */
  async disable(request: DisableRequest): Promise<void> {
    const { endpointId, reason, detail, failingSince } = request;
    await this.decide(endpointId, (endpoint) =>
      endpoint.enabled
        ? [
            newEndpointEvent(
              'WebhookEndpointDisabled',
              {
                endpointId,
                reason,
                detail,
                replayAfter: this.replayAfter(endpointId, failingSince),
                ...(failingSince !== undefined ? { failingSince: new Date(failingSince).toISOString() } : {}),
              },
              { correlationId: 'webhook-delivery' },
            ),
          ]
        : [],
    );
  }

  private async decide(endpointId: string, decide: (endpoint: Endpoint) => NewEvent[]): Promise<Endpoint | undefined> {
    for (let attempt = 0; ; attempt++) {
      const stream = await this.store.readStream(endpointStream(endpointId));
      const endpoint = stream.map(decodeEndpointEvent).reduce<Endpoint | undefined>(evolveEndpoint, undefined);
      if (!endpoint || endpoint.deleted) return undefined;
      const events = decide(endpoint);
      if (events.length === 0) return this.projection.get(endpointId) ?? endpoint;
      try {
        const result = await this.store.append(endpointStream(endpointId), events, endpoint.revision);
        return await this.settled(endpointId, result.positions[result.positions.length - 1]);
      } catch (error) {
        if (!(error instanceof StreamConflictError) || attempt >= RETRIES_ON_CONFLICT) throw error;
      }
    }
  }

  private async settled(endpointId: string, position: number): Promise<Endpoint> {
    await this.projection.waitFor(position);
    const endpoint = this.projection.get(endpointId);
    if (endpoint) return endpoint;
    // Deleted, or the projection is behind: the stream is the truth.
    const stream = await this.store.readStream(endpointStream(endpointId));
    return stream.map(decodeEndpointEvent).reduce<Endpoint | undefined>(evolveEndpoint, undefined)!;
  }

  private async checkUrl(url: string): Promise<void> {
    try {
      await this.policy.vet(hostOf(url));
    } catch (error) {
      // DNS that did not answer says nothing of the URL: try again later (503), not "fix the URL" (422).
      if (error instanceof RefusedAddressError && error.dnsTrouble) throw new DnsUnavailableError(error.message);
      if (error instanceof RefusedAddressError) throw new DomainRuleError('url', error.message);
      throw error;
    }
  }
}
