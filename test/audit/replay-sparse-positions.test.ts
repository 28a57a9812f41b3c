// A replay to a log position stops at that position, on KurrentDB too, whose
// positions are sparse byte offsets (over the in-memory stand-in of the server).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { catchUp } from '../../src/audit/replay.js';
import { ReadModel } from '../../src/read-model/read-model.js';
import { loadSeeds } from '../../src/seed/load-seeds.js';
import { KurrentDbEventStore } from '../../src/store/kurrentdb-event-store.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { StandInKurrentDB } from '../store/kurrentdb-stand-in.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('a replay to a log position', () => {
  it('applies the events up to that position and none after it, although KurrentDB positions are far apart', async () => {
    const { dir, cleanup } = tempDir();
    const sqlite = new SqliteEventStore(path.join(dir, 'events.db'));
    await loadSeeds(sqlite);
    const kurrent = new KurrentDbEventStore(new StandInKurrentDB().client(), 'stand-in:2113', { streamPrefixes: ['country-', 'webhook-'] });
    await kurrent.importEvents((async function* () {
      yield* await sqlite.readAll({ after: 0, limit: 10_000 });
    })());
    const log = await kurrent.readAll({ after: 0, limit: 10_000 });
    expect(log[11].position - log[0].position).toBeGreaterThan(log.length); // sparse: a page "up to" a position holds more than the events before it

    const replay = new ReadModel(path.join(dir, 'replay.db'), { scratch: true });
    expect(await catchUp(kurrent, replay, log[9].position)).toBe(10);
    expect(replay.checkpoint().position).toBe(log[9].position);
    expect(await catchUp(kurrent, replay, log[11].position - 1)).toBe(1);
    expect(replay.checkpoint().position).toBe(log[10].position);

    replay.close();
    await kurrent.close();
    await sqlite.close();
    cleanup();
  });
});
