// Which log event the changes of a new day belong to, on KurrentDB where each
// log event goes to one replica: new-day changes carry the position of the event
// before the day, and belong to the next event. Every change belongs to exactly
// one event, and the split is the same whether the day rolled on the clock or
// with the next event.
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../events/envelope.js';
import { ReadModel } from '../../src/read-model/read-model.js';
import { ChangeFeed } from '../../src/webhooks/change-feed.js';
import { changesOfEvent, isNewDayChange } from '../../src/webhooks/event-changes.js';
import { remember, REMEMBERED_POSITIONS } from '../../src/webhooks/persistent-dispatch.js';
import { tempDir } from '../helpers/temp-dir.js';

function recorded(position: number, country: string, statementId: string, effectiveAt: string, recordedAt: string): StoredEvent {
  return {
    eventId: `e${position}`,
    type: 'StatementRecorded',
    schemaVersion: 2,
    data: {
      statementId,
      country,
      stance: 'prohibits',
      scope: {},
      speaker: { attribution: 'official' },
      sources: [{ title: 't', publishedAt: '2026-03-01', quote: 'q' }],
      effectiveAt,
      datePrecision: 'day',
      reportedAt: '2026-03-01',
    },
    metadata: {},
    streamId: `country-${country}`,
    streamRevision: 0,
    position,
    recordedAt,
  };
}

// Sparse positions, as KurrentDB's are. US takes effect two days after it is recorded.
const LOG = [
  recorded(1_000, 'US', 's1', '2026-03-03', '2026-03-01T10:00:00.000Z'),
  recorded(1_500, 'FR', 's2', '2026-02-01', '2026-03-01T11:00:00.000Z'),
  recorded(2_300, 'DE', 's3', '2026-02-01', '2026-03-05T09:00:00.000Z'),
];

const temp = tempDir('policy-state-new-day-');
const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});
afterAll(() => temp.cleanup());

function feedOf(name: string, feedLog: (model: ReadModel) => void) {
  const model = new ReadModel(path.join(temp.dir, `${name}.db`));
  feedLog(model);
  const feed = new ChangeFeed(() => model.file);
  open.push(feed, model);
  return feed;
}

describe('the changes of a log event, for a dispatch shared by replicas', () => {
  for (const [name, feedLog] of [
    ['the day rolls with the next event', (m: ReadModel) => m.apply(LOG)],
    [
      'the day rolls on the clock before the next event',
      (m: ReadModel) => {
        m.apply(LOG.slice(0, 2));
        m.advanceTo('2026-03-04');
        m.apply(LOG.slice(2));
      },
    ],
  ] as const) {
    it(`every change belongs to exactly one event, new-day changes to the event after the one they carry (${name})`, () => {
      const feed = feedOf(name.replace(/\W+/g, '-'), feedLog);
      const all = feed.after(0, 1_000);
      const newDay = all.filter(isNewDayChange);
      expect(newDay).toHaveLength(1);
      expect(newDay[0]).toMatchObject({ country: 'US', position: 1_500, type: 'position.changed' });
      expect(newDay[0].data).toMatchObject({ at: '2026-03-03' });

      const byEvent = LOG.map((e) => changesOfEvent(feed, e.position).map((c) => c.id));
      // The FR event does not take the new-day change that carries its position; the DE event after it does.
      expect(byEvent[1]).not.toContain(newDay[0].id);
      expect(byEvent[2]).toContain(newDay[0].id);
      const owned = byEvent.flat();
      expect(owned.sort()).toEqual(all.map((c) => c.id).sort());
      expect(new Set(owned).size).toBe(owned.length);
    });
  }
});

describe('what a replica keeps of the positions it was handed', () => {
  it('the latest ones, in order, however long it lives', () => {
    const list: number[] = [];
    for (let position = 1; position <= 5 * REMEMBERED_POSITIONS; position++) remember(list, position);
    expect(list.length).toBeGreaterThanOrEqual(REMEMBERED_POSITIONS);
    expect(list.length).toBeLessThan(2 * REMEMBERED_POSITIONS);
    expect(list[list.length - 1]).toBe(5 * REMEMBERED_POSITIONS);
    expect(list.every((p, i) => i === 0 || p === list[i - 1] + 1)).toBe(true);
  });
});
