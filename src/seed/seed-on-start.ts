// SEED_ON_START: load the seed dataset into an empty store. A remote store
// (KurrentDB) may be unreachable when the service starts; the service must
// still start (not ready) and seed once the store answers, so then the seeding
// goes on in the background, retrying.
import type { Logger } from 'pino';
import { StoreUnavailableError, type EventStore } from '../store/event-store.js';
import { loadSeeds, type SeedResult } from './load-seeds.js';

export interface Seeding {
  /** What the start did, for its log line: loaded (the counts), nothing (the store held events), or waiting for the store. */
  readonly outcome: SeedResult | 'the store was not empty' | 'waiting for the event store';
  /** Stops a background retry, if one is pending. */
  cancel(): void;
}

export async function seedOnStart(store: EventStore, logger: Logger, retryMs = 2_000): Promise<Seeding> {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  // Once the store was seen empty, seeding is under way: a retry after a failure part
  // way through loads the rest (loading is idempotent) instead of finding the store
  // no longer empty and stopping.
  let started = false;
  let outcome: Seeding['outcome'] = 'waiting for the event store';

  const attempt = async (): Promise<void> => {
    try {
      if (!started && (await store.headPosition()) !== 0) {
        outcome = 'the store was not empty';
        return;
      }
      started = true;
      const seeded = (outcome = await loadSeeds(store));
      logger.info(seeded, 'the store was empty: seed statements loaded');
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || cancelled) throw error;
      logger.warn({ reason: error.message, retryMs }, 'the event store cannot be reached: seed statements will load when it answers');
      timer = setTimeout(() => {
        attempt().catch((e) => {
          if (!cancelled) logger.error({ err: e }, 'loading the seed statements failed');
        });
      }, retryMs);
      timer.unref();
    }
  };

  await attempt();
  return {
    get outcome() {
      return outcome;
    },
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}
