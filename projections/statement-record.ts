// The state of one country's statements as the log tells it so far: each
// statement with every source attached to it and its retraction, if any, each
// tagged with the log position that brought it. `evolveCountry` is the only
// way this state changes, and it is pure.
import type { DomainEvent } from '../events/registry.js';
import type { Source } from '../events/vocabulary.js';
import type { StatementRecorded } from '../events/statement-recorded.js';

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
}

export const countryOfStream = (streamId: string): string | undefined => /^country-([A-Z]{2})$/.exec(streamId)?.[1];

export function emptyCountry(country: string): CountryRecord {
  return { country, revision: -1, statements: [] };
}

/** Applies one event of the country's stream. Events about unknown statements change nothing but the revision. */
export function evolveCountry(record: CountryRecord, event: DomainEvent): CountryRecord {
  const revision = event.streamRevision;
  switch (event.type) {
    case 'StatementRecorded': {
      // A statement id is recorded once; a second recording of the same id is ignored,
      // the same way on every replay.
      if (record.statements.some((s) => s.statementId === event.data.statementId)) return { ...record, revision };
      const { sources, ...rest } = event.data;
      const statement: StatementRecord = {
        ...rest,
        sources: sources.map((source) => ({ ...source, position: event.position })),
        position: event.position,
        recordedAt: event.recordedAt,
      };
      return { ...record, revision, statements: [...record.statements, statement] };
    }
    case 'StatementRetracted':
      return updateStatement(record, revision, event.data.statementId, (s) =>
        s.retraction
          ? s
          : {
              ...s,
              retraction: {
                reason: event.data.reason,
                reportedAt: event.data.reportedAt,
                ...(event.data.source ? { source: event.data.source } : {}),
                position: event.position,
                recordedAt: event.recordedAt,
              },
            },
      );
    case 'SourceAttached':
      return updateStatement(record, revision, event.data.statementId, (s) => ({
        ...s,
        sources: [...s.sources, { ...event.data.source, position: event.position }],
      }));
  }
}

function updateStatement(
  record: CountryRecord,
  revision: number,
  statementId: string,
  update: (s: StatementRecord) => StatementRecord,
): CountryRecord {
  const index = record.statements.findIndex((s) => s.statementId === statementId);
  if (index < 0) return { ...record, revision };
  const statements = record.statements.slice();
  statements[index] = update(statements[index]);
  return { ...record, revision, statements };
}
