// The clock rolls "today" forward only once every event recorded before the new
// day has been applied: otherwise an event recorded at 23:59:59 and applied just
// after the roll would be derived with the next day as today, and the live read
// model would disagree with a replay of the log (and with a replica that applied
// it in time).
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { countryStream, newEvent } from '../../events/registry.js';
import { addDays } from '../../projections/time.js';
import { ProjectionRunner } from '../../src/read-model/projection-runner.js';
import { ReadModel } from '../../src/read-model/read-model.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { statement } from '../helpers/statements.js';
import { tempDir } from '../helpers/temp-dir.js';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describe('rolling the day by the clock', () => {
  it('waits a moment after midnight, and until the read model is at the head of the log', async () => {
    const { dir, cleanup: removeDir } = tempDir();
    const store = new SqliteEventStore(path.join(dir, 'events.db'));
    const readModel = new ReadModel(path.join(dir, 'read-model.db'));
    cleanup.push(removeDir, () => store.close(), () => readModel.close());

    const recorded = (id: string) => newEvent('StatementRecorded', statement({ statementId: id, stance: 'prohibits', effectiveAt: '2024-05-01' }));
    await store.append(countryStream('US'), [recorded('first')], 'any');
    readModel.apply(await store.readAll({ after: 0, limit: 100 }));
    const { today } = readModel.checkpoint();
    expect(today).not.toBeNull();
    const tomorrow = addDays(today!, 1);

    let clock = new Date(`${tomorrow}T00:00:02.000Z`);
    const runner = new ProjectionRunner(store, readModel, pino({ level: 'silent' }), () => clock, 10_000);
    // Two seconds after midnight an append begun before it may still be committing.
    expect(await runner.rollDay()).toBe(false);
    expect(readModel.checkpoint().today).toBe(today);

    // Later, but an event the read model has not applied yet may have been recorded yesterday.
    clock = new Date(`${tomorrow}T00:00:30.000Z`);
    await store.append(countryStream('US'), [recorded('late')], 'any');
    expect(await runner.rollDay()).toBe(false);
    expect(readModel.checkpoint().today).toBe(today);

    // Applied (with yesterday as today, as a replay would), the day rolls.
    readModel.apply(await store.readAll({ after: readModel.checkpoint().position, limit: 100 }));
    expect(readModel.checkpoint().today).toBe(today);
    expect(await runner.rollDay()).toBe(true);
    expect(readModel.checkpoint().today).toBe(tomorrow);
  });
});
