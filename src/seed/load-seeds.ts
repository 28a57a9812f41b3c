// Loads the seed dataset (seeds/events.json) into a store. Each seed event
// carries a fixed event id, so loading twice appends nothing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { countryStream, eventCatalog, newEvent, type EventType } from '../../events/registry.js';
import { DuplicateEventError, type EventStore } from '../store/event-store.js';
import { projectRoot } from '../project-root.js';

const SeedEvent = z.object({
  eventId: z.uuid(),
  type: z.enum(Object.keys(eventCatalog) as [EventType, ...EventType[]]),
  data: z.object({ statementId: z.string(), country: z.string().optional() }).loose(),
});

export const defaultSeedFile = () => path.join(projectRoot(), 'seeds', 'events.json');

export interface SeedResult {
  appended: number;
  alreadyPresent: number;
}

export async function loadSeeds(store: EventStore, file = defaultSeedFile()): Promise<SeedResult> {
  const seeds = z.array(SeedEvent).parse(JSON.parse(readFileSync(file, 'utf8')));
  const countryOf = new Map<string, string>();
  const result: SeedResult = { appended: 0, alreadyPresent: 0 };
  for (const seed of seeds) {
    if (seed.data.country) countryOf.set(seed.data.statementId, seed.data.country);
    const country = countryOf.get(seed.data.statementId);
    if (!country) throw new Error(`seed event ${seed.eventId} refers to statement ${seed.data.statementId} before it is recorded`);
    if (await store.findEvent(seed.eventId)) {
      result.alreadyPresent += 1;
      continue;
    }
    const event = newEvent(seed.type, seed.data as never, { correlationId: 'seed' }, seed.eventId);
    try {
      await store.append(countryStream(country), [event], 'any');
      result.appended += 1;
    } catch (error) {
      // Another loader got there first: the event is in the log, which is all that matters.
      if (!(error instanceof DuplicateEventError)) throw error;
      result.alreadyPresent += 1;
    }
  }
  return result;
}
