// Keeps the read model following the log: resumes from the read model's own
// checkpoint (never from the start), applies each batch in one transaction,
// and rolls "today" forward at midnight UTC so statements effective in the
// future change today's position on their day.
import type { Logger } from 'pino';
import type { EventStore, Subscription } from '../store/event-store.js';
import { dayOf } from '../../projections/time.js';
import type { ReadModel } from './read-model.js';
import { untilApplied } from './until-applied.js';

export interface RunnerStatus {
  position: number;
  head: number;
  caughtUp: boolean;
  failure?: string;
}

export class ProjectionRunner {
  private subscription?: Subscription;
  private dayTimer?: NodeJS.Timeout;
  private failure?: Error;

  constructor(
    private readonly store: EventStore,
    private readonly readModel: ReadModel,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    const { position } = this.readModel.checkpoint();
    this.logger.info({ position }, 'projections resume from their checkpoint');
    this.subscription = this.store.subscribe(
      position,
      (events) => {
        this.readModel.apply(events);
      },
      (error) => {
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.logger.error({ err: error }, 'projections stopped on an error; the read model stays at its checkpoint');
      },
    );
    this.dayTimer = setInterval(() => this.rollDay(), 60_000);
    this.dayTimer.unref();
    this.rollDay();
  }

  /** Emits the changes of any day that began since the read model last looked. */
  rollDay(): void {
    try {
      this.readModel.advanceTo(dayOf(this.now().getTime()));
    } catch (error) {
      this.logger.error({ err: error }, 'rolling the day forward failed');
    }
  }

  async status(): Promise<RunnerStatus> {
    const head = await this.store.headPosition();
    const { position } = this.readModel.checkpoint();
    return { position, head, caughtUp: !this.failure && position >= head, ...(this.failure ? { failure: this.failure.message } : {}) };
  }

  /** Resolves once the read model has applied `position` (read your own writes); false on timeout. */
  waitFor(position: number, timeoutMs = 5_000): Promise<boolean> {
    return untilApplied(this.readModel.events, () => this.readModel.checkpoint().position, position, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.dayTimer) clearInterval(this.dayTimer);
    await this.subscription?.close();
  }
}
