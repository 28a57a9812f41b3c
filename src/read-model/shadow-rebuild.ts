// When a projection's version changes, the read model is rebuilt from the log
// into a shadow file while the old one keeps serving; once the shadow has
// caught up, the runner pauses, the shadow takes the last events, and the
// files are swapped in one synchronous step.
import { existsSync, renameSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { catchUp } from '../audit/replay.js';
import type { EventStore } from '../store/event-store.js';
import type { ProjectionRunner } from './projection-runner.js';
import { ReadModel } from './read-model.js';
import type { ReadModelSwitch } from './swappable.js';

export interface ShadowRebuild {
  done: Promise<void>;
  cancel(): void;
}

/** Removes an SQLite file with its WAL and shared-memory files. */
export const removeDatabase = (file: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
};

export function needsRebuild(readModel: ReadModel): boolean {
  return readModel.builtWith() !== readModel.version;
}

export function rebuildInShadow(store: EventStore, models: ReadModelSwitch, runner: ProjectionRunner, logger: Logger, version?: string): ShadowRebuild {
  const liveFile = models.current.file;
  const shadowFile = `${liveFile}.shadow`;
  let cancelled = false;
  const done = (async () => {
    removeDatabase(shadowFile); // a shadow left by an interrupted rebuild starts over
    const shadow = new ReadModel(shadowFile, { version, scratch: true });
    const started = performance.now();
    logger.info({ from: models.current.builtWith(), to: shadow.version }, 'projection version changed: rebuilding the read model in a shadow while the old one serves');
    try {
      // Most of the log, while the old read model keeps serving and following.
      for (;;) {
        const head = await store.headPosition();
        // Small pages, so requests to the old read model are served in between.
        await catchUp(store, shadow, head, { pageSize: 200 });
        if (cancelled) throw new Error('cancelled');
        if (head - shadow.checkpoint().position < 100) break;
      }
      // The last few events with the runner paused, then the swap, with no await in between.
      await runner.stop();
      await catchUp(store, shadow, await store.headPosition());
      const today = models.current.checkpoint().today;
      if (today) shadow.advanceTo(today);
      const old = models.current;
      shadow.close();
      old.close();
      removeDatabase(liveFile);
      renameSync(shadowFile, liveFile);
      models.swap(new ReadModel(liveFile, { version }));
      runner.start();
      logger.info({ position: models.current.checkpoint().position, seconds: (performance.now() - started) / 1000 }, 'the rebuilt read model is live');
    } catch (error) {
      if (existsSync(shadowFile)) {
        try {
          shadow.close();
        } catch {
          // already closed by the swap
        }
        removeDatabase(shadowFile);
      }
      if (!cancelled) logger.error({ err: error }, 'rebuilding the read model failed; the old one keeps serving');
    }
  })();
  return { done, cancel: () => (cancelled = true) };
}
