// Turns the change feed into pending deliveries: one per endpoint that wants
// the change, written in one transaction with the feed checkpoint, so a crash
// never loses a change nor creates its deliveries twice. A change is only
// dispatched once the endpoint projection has reached its log position, so an
// endpoint created just before a change is sure to be considered for it.
import type { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ChangeFeed, FeedChange } from './change-feed.js';
import { wants } from './endpoint.js';
import type { EndpointProjection } from './endpoint-projection.js';
import { changeBody } from './payload.js';
import type { WebhookDb } from './webhook-db.js';

export const deliveryId = (): string => `dlv_${randomBytes(12).toString('base64url')}`;

export class Dispatcher {
  private stopped = false;
  private wake?: () => void;
  private loop?: Promise<void>;
  private readonly onSignal = () => this.wake?.();
  failure?: Error;

  constructor(
    private readonly db: WebhookDb,
    private readonly feed: ChangeFeed,
    private readonly endpoints: EndpointProjection,
    /** The read model's emitter: 'changes' after each commit. */
    private readonly readModelEvents: EventEmitter,
    private readonly created: (endpointIds: ReadonlySet<string>) => void,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly pollIntervalMs: number,
    private readonly batchSize = 200,
  ) {}

  start(): void {
    this.readModelEvents.on('changes', this.onSignal);
    this.endpoints.events.on('applied', this.onSignal);
    this.loop = this.run().catch((error) => {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.logger.error({ err: error }, 'the webhook dispatcher stopped; changes wait in the feed at its checkpoint');
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.step() > 0) {
        await yieldToLoop(); // let deliveries start between batches
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Dispatches the next batch of changes; returns how many changes it took. */
  step(): number {
    const limit = this.endpoints.checkpoint();
    const ready: FeedChange[] = [];
    for (const change of this.feed.after(this.db.checkpoint('dispatch_seq'), this.batchSize)) {
      if (change.position > limit) break;
      ready.push(change);
    }
    if (ready.length === 0) return 0;
    const affected = new Set<string>();
    const at = this.now();
    this.db.transaction(() => {
      const sequences = new Map<string, number>();
      const endpoints = this.endpoints.all().filter((e) => e.enabled);
      for (const change of ready) {
        let body: ((sequence: number) => string) | undefined;
        for (const endpoint of endpoints) {
          if (change.position <= endpoint.createdPosition || !wants(endpoint, change)) continue;
          body ??= changeBody(change);
          const sequence = (sequences.get(endpoint.id) ?? this.db.status(endpoint.id)?.last_sequence ?? 0) + 1;
          const inserted = this.db.insertDelivery({
            id: deliveryId(),
            endpointId: endpoint.id,
            origin: 'live',
            messageId: change.id,
            type: change.type,
            position: change.position,
            sequence,
            payload: body(sequence),
            at,
          });
          if (!inserted) continue; // already delivered live once: keep the sequence without a gap
          sequences.set(endpoint.id, sequence);
          affected.add(endpoint.id);
        }
      }
      for (const [endpointId, sequence] of sequences) this.db.setLastSequence(endpointId, sequence);
      const last = ready[ready.length - 1];
      this.db.setCheckpoint('dispatch_seq', last.seq);
      this.db.setCheckpoint('dispatch_position', last.position);
    });
    if (affected.size > 0) this.created(affected);
    return ready.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.readModelEvents.off('changes', this.onSignal);
    this.endpoints.events.off('applied', this.onSignal);
    this.wake?.();
    await this.loop;
  }
}
