// The seed dataset as the log would hold it after loading into an empty store:
// each event decoded through the event catalog and folded, per country, through
// the pure projection. Shared by the seed tests.
import { fileURLToPath } from 'node:url';
import { countryStream, decodeEvent, eventCatalog, isKnownEventType, type DomainEvent } from '../../events/registry.js';
import { emptyCountry, evolveCountry, type CountryRecord } from '../../projections/statement-record.js';
import { readSeedEvents, type SeedEvent } from '../../seeds/table.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface SeedLog {
  raw: SeedEvent[];
  events: DomainEvent[];
  countries: Map<string, CountryRecord>;
}

/**
 * Appends the seeds as the loader does: each to `country-<CODE>`, a SourceAttached
 * to the stream of the statement it names. Positions grow from 1, revisions per
 * stream from 0, recordedAt is now.
 */
export function loadSeedLog(raw: SeedEvent[] = readSeedEvents()): SeedLog {
  const recordedAt = new Date().toISOString();
  const countryOfStatement = new Map<string, string>();
  const revisions = new Map<string, number>();
  const events: DomainEvent[] = [];
  const countries = new Map<string, CountryRecord>();
  raw.forEach((seed, index) => {
    if (!isKnownEventType(seed.type)) throw new Error(`unknown event type ${seed.type}`);
    const statementId = String(seed.data.statementId);
    const country = seed.type === 'StatementRecorded' ? String(seed.data.country) : countryOfStatement.get(statementId);
    if (!country) throw new Error(`${seed.type} ${seed.eventId} names statement ${statementId}, not recorded before it`);
    if (seed.type === 'StatementRecorded') countryOfStatement.set(statementId, country);
    const streamId = countryStream(country);
    const streamRevision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, streamRevision);
    const event = decodeEvent({
      eventId: seed.eventId,
      type: seed.type,
      schemaVersion: eventCatalog[seed.type].version,
      data: seed.data,
      metadata: {},
      streamId,
      streamRevision,
      position: index + 1,
      recordedAt,
    });
    events.push(event);
    countries.set(country, evolveCountry(countries.get(country) ?? emptyCountry(country), event));
  });
  return { raw, events, countries };
}
