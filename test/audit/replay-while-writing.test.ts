// A replay beside a service that keeps writing: the live read model moves on while the
// replay runs, the replay chases it, and the report says where it compared and where
// the log's head was, without a head below the position it compared at.
import path from 'node:path';
import { expect, it } from 'vitest';
import { replayAndCompare } from '../../src/audit/replay.js';
import { ReadModel } from '../../src/read-model/read-model.js';
import { loadSeeds } from '../../src/seed/load-seeds.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { newEvent } from '../../events/registry.js';
import { kirby } from '../helpers/service.js';
import { tempDir } from '../helpers/temp-dir.js';

it('chases writes made during the replay, compares them too, and reports the head as at least that far', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteEventStore(path.join(dir, 'events.db'));
  await loadSeeds(store);
  const live = new ReadModel(path.join(dir, 'read-model.db'));
  live.apply(await store.readAll({ after: 0, limit: 10_000 }));
  const headBefore = await store.headPosition();

  // Two writes land in the middle of the replay, and the live read model applies them.
  let written = 0;
  const writing: Promise<void>[] = [];
  const onProgress = () => {
    if (written++ > 0) return;
    writing.push(
      (async () => {
        for (const id of ['during-1', 'during-2']) {
          await store.append('country-US', [newEvent('StatementRecorded', { ...kirby, statementId: id, scope: {}, datePrecision: 'day' } as never)], 'any');
        }
        live.apply(await store.readAll({ after: live.checkpoint().position, limit: 10 }));
      })(),
    );
  };
  const report = await replayAndCompare(store, live, { pageSize: 1, onProgress });
  await Promise.all(writing);

  expect(report.differences).toEqual([]);
  expect(report.position).toBe(headBefore + 2);
  expect(report.head).toBe(report.position);
  expect(report.eventsReplayed).toBe(headBefore + 2);

  live.close();
  await store.close();
  cleanup();
});
