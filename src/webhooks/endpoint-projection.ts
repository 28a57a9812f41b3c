// Keeps the endpoints in webhooks.db following the log, with their checkpoint
// in the same transaction. A disabled or deleted endpoint's pending deliveries
// are cancelled in that transaction too; its `endpoint.disabled` note says
// where a replay picks up.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { StoredEvent } from '../../events/envelope.js';
import { isDispatchJournalStream } from '../../events/webhook-dispatch.js';
import { isEndpointStream, isWebhookEndpointEventType } from '../../events/webhook-endpoint.js';
import type { EventStore, Subscription } from '../store/event-store.js';
import { decodeEndpointEvent, evolveEndpoint, type DisabledNote, type Endpoint } from './endpoint.js';
import type { WebhookDb } from './webhook-db.js';
import { untilApplied } from '../read-model/until-applied.js';

export class EndpointProjection {
  private readonly endpoints = new Map<string, Endpoint>();
  /** Every state of every endpoint (deleted ones too), in log order. */
  private readonly versions = new Map<string, Endpoint[]>();
  /** Emits 'applied' (log position) after each commit. */
  readonly events = new EventEmitter();
  private position = 0;
  private subscription?: Subscription;
  failure?: Error;
  /** KurrentDB replicas: the dispatch journals' events, in this projection's transaction (dispatch-journal.ts). */
  observeJournal?: (event: StoredEvent) => void;

  constructor(
    private readonly store: EventStore,
    private readonly db: WebhookDb,
    private readonly logger: Logger,
    /** Deliveries given up because their endpoint was disabled or deleted, for /metrics. */
    private readonly abandoned: (count: number) => void = () => undefined,
  ) {
    this.events.setMaxListeners(0);
  }

  start(): void {
    for (const endpoint of this.db.endpoints()) this.endpoints.set(endpoint.id, endpoint);
    for (const version of this.db.endpointVersions()) this.addVersion(version);
    this.position = this.db.checkpoint('endpoints');
    this.subscription = this.store.subscribe(
      this.position,
      (events) => this.apply(events),
      (error) => {
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.logger.error({ err: error }, 'the webhook endpoint projection stopped; deliveries wait at its checkpoint');
      },
    );
  }

  apply(events: readonly StoredEvent[]): void {
    const staged = new Map<string, Endpoint>();
    const versions: Endpoint[] = [];
    let cancelled = 0;
    const position = this.db.transaction(() => {
      let position = this.db.checkpoint('endpoints');
      for (const event of events) {
        if (event.position <= position) continue;
        position = event.position;
        if (this.observeJournal && isDispatchJournalStream(event.streamId)) this.observeJournal(event);
        if (!isEndpointStream(event.streamId) || !isWebhookEndpointEventType(event.type)) continue;
        const decoded = decodeEndpointEvent(event);
        const id = decoded.data.endpointId;
        const after = evolveEndpoint(staged.get(id) ?? this.endpoints.get(id), decoded);
        if (!after) continue;
        this.db.putEndpoint(after);
        staged.set(id, after);
        versions.push(after);
        const at = Date.parse(event.recordedAt);
        if (decoded.type === 'WebhookEndpointDisabled' || decoded.type === 'WebhookEndpointDeleted') cancelled += this.db.cancelPending(id, at);
        // A re-enabled endpoint starts its five days afresh.
        if (decoded.type === 'WebhookEndpointEnabled') this.db.resetFailing(id);
      }
      this.db.setCheckpoint('endpoints', position);
      return position;
    });
    for (const [id, endpoint] of staged) this.endpoints.set(id, endpoint);
    for (const version of versions) this.addVersion(version);
    this.position = position;
    if (cancelled > 0) this.abandoned(cancelled);
    this.events.emit('applied', position);
  }

  checkpoint(): number {
    return this.position;
  }

  private addVersion(version: Endpoint): void {
    const list = this.versions.get(version.id) ?? [];
    if (list.length === 0 || list[list.length - 1].position < version.position) list.push(version);
    this.versions.set(version.id, list);
  }

  /**
   * Every endpoint as it was just after log position `position` (those created by then
   * and not yet deleted), however far this projection has gone since: what a change at
   * that position is dispatched by, the same on every replica. A change stamped with
   * `position` was made after that event was applied (a new day's changes carry the
   * position of the last event before the day), so an event at `position` itself,
   * a creation like an update, a disable or a deletion, already counts.
   */
  asOf(position: number): Endpoint[] {
    const result: Endpoint[] = [];
    for (const [id, current] of this.endpoints) {
      const list = this.versions.get(id);
      // An endpoint from before versions were kept has only its current state.
      let state: Endpoint | undefined = list ? undefined : current;
      if (list) for (let i = list.length - 1; i >= 0 && !state; i--) if (list[i].position <= position) state = list[i];
      if (state && !state.deleted && state.createdPosition <= position) result.push(state);
    }
    return result.sort((a, b) => a.createdPosition - b.createdPosition);
  }

  /**
   * The endpoint's last `endpoint.disabled` note, also once it is enabled again (which clears
   * `disabled`): its replayAfter still brings back every change missed while it was disabled.
   */
  lastDisabled(id: string): DisabledNote | null {
    const list = this.versions.get(id) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (list[i].disabled) return list[i].disabled;
    return this.endpoints.get(id)?.disabled ?? null;
  }

  get(id: string): Endpoint | undefined {
    const endpoint = this.endpoints.get(id);
    return endpoint && !endpoint.deleted ? endpoint : undefined;
  }

  /** Every endpoint not deleted, oldest first. */
  all(): Endpoint[] {
    return [...this.endpoints.values()].filter((e) => !e.deleted).sort((a, b) => a.createdPosition - b.createdPosition);
  }

  /** Resolves once the projection has applied `position` (read your own writes); false on timeout. */
  waitFor(position: number, timeoutMs = 5_000): Promise<boolean> {
    return untilApplied(this.events, () => this.position, position, timeoutMs);
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
  }
}
