// The state of one country's statements as the log tells it so far: each
// statement with every source attached to it and its retraction, if any, each
// tagged with the log position that brought it. `evolveCountry` is the only
// way this state changes.
import type { DomainEvent } from '../events/registry.js';
import type { Source } from '../events/vocabulary.js';
import type { StatementRecorded } from '../events/statement-recorded.js';
import { instantOf } from './time.js';

/**
 * A statement's or retraction's reportedAt, or a source's publishedAt, as epoch
 * ms: parsed once when the record is built and kept under a symbol that is not
 * enumerable, so it never reaches JSON, a comparison or a fingerprint.
 */
export const INSTANT = Symbol('reportedAt or publishedAt as epoch ms');

function stamped<T extends object>(record: T, dayOrInstant: string): T {
  Object.defineProperty(record, INSTANT, { value: instantOf(dayOrInstant), enumerable: false, writable: true });
  return record;
}

export interface SourceRecord extends Source {
  /** The log position of the event that attached this source. */
  position: number;
}

export interface RetractionRecord {
  reason: string;
  reportedAt: string;
  source?: Source;
  position: number;
  recordedAt: string;
}

export interface StatementRecord extends Omit<StatementRecorded, 'sources'> {
  sources: SourceRecord[];
  position: number;
  recordedAt: string;
  retraction?: RetractionRecord;
}

export interface CountryRecord {
  country: string;
  /** The revision of the country's stream after the last event applied. */
  revision: number;
  /** In log order. */
  statements: StatementRecord[];
  /** statementId -> index in `statements`. */
  index: Map<string, number>;
}

export const countryOfStream = (streamId: string): string | undefined => /^country-([A-Z]{2})$/.exec(streamId)?.[1];

export function emptyCountry(country: string): CountryRecord {
  return { country, revision: -1, statements: [], index: new Map() };
}

/** A record rebuilt from stored statements (parsed JSON), in the same shape as recorded ones. */
export function countryFrom(country: string, revision: number, stored: StatementRecord[]): CountryRecord {
  const statements = stored.map((s) => statementRecord(s));
  return { country, revision, statements, index: new Map(statements.map((s, i) => [s.statementId, i])) };
}

/**
 * Every statement record is built here, with every field present in the same
 * order (absent ones undefined, which JSON leaves out). Derivations scan
 * thousands of these per answer, and objects of one shape are read many times
 * faster than objects of many.
 */
export function statementRecord(s: StatementRecord, stamp = true): StatementRecord {
  return buildRecord(
    s,
    s.sources.map((source) => sourceRecord(source, source.position, stamp)),
    s.position,
    s.recordedAt,
    s.retraction && retractionRecord(s.retraction, stamp),
    stamp,
  );
}

function buildRecord(
  s: Omit<StatementRecorded, 'sources'>,
  sources: SourceRecord[],
  position: number,
  recordedAt: string,
  retraction: RetractionRecord | undefined,
  stamp = true,
): StatementRecord {
  const record: StatementRecord = {
    statementId: s.statementId,
    country: s.country,
    stance: s.stance,
    scope: {
      regions: s.scope.regions,
      targets: s.scope.targets,
      excludedTargets: s.scope.excludedTargets,
      purposes: s.scope.purposes,
      weapons: s.scope.weapons,
      excludedWeapons: s.scope.excludedWeapons,
      conditions: s.scope.conditions,
    },
    speaker: { name: s.speaker.name, role: s.speaker.role, attribution: s.speaker.attribution },
    sources,
    effectiveAt: s.effectiveAt,
    datePrecision: s.datePrecision,
    reportedAt: s.reportedAt,
    notes: s.notes,
    supersedes: s.supersedes,
    position,
    recordedAt,
    retraction,
  };
  return stamp ? stamped(record, record.reportedAt) : record;
}

function sourceRecord(source: Source, position: number, stamp = true): SourceRecord {
  const record = { publisher: source.publisher, title: source.title, url: source.url, publishedAt: source.publishedAt, quote: source.quote, position };
  return stamp ? stamped(record, source.publishedAt) : record;
}

function retractionRecord(r: RetractionRecord, stamp = true): RetractionRecord {
  const record = { reason: r.reason, reportedAt: r.reportedAt, source: r.source, position: r.position, recordedAt: r.recordedAt };
  return stamp ? stamped(record, r.reportedAt) : record;
}

/**
 * Applies one event of the country's stream to the record, in place, and
 * returns it. In place because the read model owns its records and a copy per
 * event would make a replay quadratic; like every projection it reads no
 * clock and does no I/O, and folding the same events always gives the same
 * record. Events about unknown statements change nothing but the revision.
 */
export function evolveCountry(record: CountryRecord, event: DomainEvent): CountryRecord {
  record.revision = event.streamRevision;
  switch (event.type) {
    case 'StatementRecorded': {
      // A statement id is recorded once; a second recording of the same id is ignored,
      // the same way on every replay.
      if (record.index.has(event.data.statementId)) return record;
      record.index.set(event.data.statementId, record.statements.length);
      record.statements.push(recordOf(event));
      return record;
    }
    case 'StatementRetracted': {
      const statement = statementOf(record, event.data.statementId);
      if (statement && !statement.retraction) {
        statement.retraction = retractionRecord({
          reason: event.data.reason,
          reportedAt: event.data.reportedAt,
          source: event.data.source,
          position: event.position,
          recordedAt: event.recordedAt,
        });
      }
      return record;
    }
    case 'SourceAttached':
      statementOf(record, event.data.statementId)?.sources.push(sourceRecord(event.data.source, event.position));
      return record;
  }
}

/**
 * The record of a statement as its recording makes it. Unstamped (`stamp`
 * false), its dates are parsed when read: for a record that is stored and not
 * derived over.
 */
export function recordOf(event: Extract<DomainEvent, { type: 'StatementRecorded' }>, stamp = true): StatementRecord {
  const data = event.data;
  return buildRecord(data, data.sources.map((source) => sourceRecord(source, event.position, stamp)), event.position, event.recordedAt, undefined, stamp);
}

/** Applies a retraction or an attached source to one statement's record, in place, as evolveCountry would. */
export function evolveStatement(statement: StatementRecord, event: DomainEvent): StatementRecord {
  evolveCountry({ country: statement.country, revision: -1, statements: [statement], index: new Map([[statement.statementId, 0]]) }, event);
  return statement;
}

export function statementOf(record: CountryRecord, statementId: string): StatementRecord | undefined {
  const index = record.index.get(statementId);
  return index === undefined ? undefined : record.statements[index];
}
