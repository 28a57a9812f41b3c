// Keeps the read model following the log: resumes from the read model's own
// checkpoint (never from the start), applies each batch in one transaction,
// and rolls "today" forward at midnight UTC so statements effective in the
// future change today's position on their day.
import type { Logger } from 'pino';
import { StoreUnavailableError, type EventStore, type Subscription } from '../store/event-store.js';
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
    /** How long after midnight the clock may roll the day: longer than an append takes to commit. */
    private readonly rollAfterMs = 10_000,
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
    this.dayTimer = setInterval(() => void this.rollDay(), 15_000);
    this.dayTimer.unref();
    void this.rollDay();
  }

  /**
   * Emits the changes of any day that began since the read model last looked,
   * once every event recorded before that day has been applied: a moment after
   * midnight, and with the read model at the head of the log. An event recorded
   * at 23:59:59 and applied after the clock had rolled the day would be derived
   * with the next day as today, where a replay of the log (which rolls days at
   * the events) or a replica that applied it in time would not: their changes
   * and fingerprints would differ. An event of the new day rolls it anyway.
   * Returns whether the day is now current.
   */
  async rollDay(): Promise<boolean> {
    try {
      const now = this.now().getTime();
      const day = dayOf(now);
      const { today, position } = this.readModel.checkpoint();
      if (today !== null && day <= today) return true;
      if (now - Date.parse(`${day}T00:00:00.000Z`) < this.rollAfterMs) return false;
      if (position < (await this.store.headPosition())) return false;
      this.readModel.advanceTo(day);
      return true;
    } catch (error) {
      // A store out of reach (KurrentDB down) only delays the roll to a later tick: not an error
      // every 15 s with a stack, beside the subscription's own warnings and /health/ready's reason.
      if (error instanceof StoreUnavailableError) this.logger.debug({ reason: error.message }, 'the day rolls once the event store answers');
      else this.logger.error({ err: error }, 'rolling the day forward failed');
      return false;
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
