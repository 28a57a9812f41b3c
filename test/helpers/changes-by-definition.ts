// The changes a log gives by definition, derived from scratch for every event.
import type { StoredEvent } from '../../events/envelope.js';
import { decodeEvent } from '../../events/registry.js';
import { changesOf, changesOfDays, positionToday, timelineOf, type Change } from '../../projections/changes.js';
import { emptyCountry, evolveCountry, type CountryRecord } from '../../projections/statement-record.js';
import { addDays, dayOf } from '../../projections/time.js';

/**
 * The changes a log gives by definition: for each event, what the country's
 * whole timeline and today's position were before it and are after it, derived
 * from scratch; and on each change of day, day by day, that day's changes of every country.
 */
export function changesByDefinition(log: StoredEvent[]): Change[] {
  const records = new Map<string, CountryRecord>();
  const changes: Change[] = [];
  let today: string | null = null;
  let position = 0;
  for (const stored of log) {
    const day = dayOf(stored.recordedAt);
    today ??= day;
    // A change of day rolls one day at a time, every country's changes of a day before the next day's.
    while (day > today) {
      const next = addDays(today, 1);
      for (const code of [...records.keys()].sort()) {
        const record = records.get(code)!;
        changes.push(...changesOfDays(record, timelineOf(record), today, next, position));
      }
      today = next;
    }
    const event = decodeEvent(stored);
    const country = stored.streamId.slice('country-'.length);
    const before = records.get(country) ?? emptyCountry(country);
    const after = [event].reduce(evolveCountry, structuredClone(before));
    changes.push(
      ...changesOf(event, after, today, { timeline: timelineOf(before), current: positionToday(before, today) }, { timeline: timelineOf(after), current: positionToday(after, today) }),
    );
    records.set(country, after);
    position = stored.position;
  }
  return changes;
}
