// Builders for statement histories: given these events, then this position.
import type { StoredEvent } from '../../events/envelope.js';
import type { DomainEvent } from '../../events/registry.js';
import type { StatementRecorded } from '../../events/statement-recorded.js';
import { emptyCountry, evolveCountry, type CountryRecord } from '../../projections/statement-record.js';

export type StatementInput = Partial<StatementRecorded> & Pick<StatementRecorded, 'statementId' | 'stance' | 'effectiveAt'>;

export function statement(input: StatementInput): StatementRecorded {
  return {
    country: 'US',
    scope: {},
    speaker: { name: 'A Spokesperson', attribution: 'official' },
    sources: [{ title: 'A report', publishedAt: input.reportedAt ?? input.effectiveAt, quote: 'said so' }],
    datePrecision: 'day',
    reportedAt: input.effectiveAt,
    ...input,
  };
}

/** A log of domain events for one country, positions and revisions assigned in order. */
export class History {
  readonly events: DomainEvent[] = [];
  constructor(readonly country = 'US', private readonly recordedAt = '2026-01-01T00:00:00.000Z') {}

  private push(type: DomainEvent['type'], data: unknown): this {
    const n = this.events.length;
    this.events.push({
      eventId: `e-${n + 1}`,
      type,
      schemaVersion: 1,
      data,
      metadata: {},
      streamId: `country-${this.country}`,
      streamRevision: n,
      position: n + 1,
      recordedAt: this.recordedAt,
    } as DomainEvent);
    return this;
  }

  recorded(input: StatementInput): this {
    return this.push('StatementRecorded', statement({ country: this.country, ...input }));
  }

  retracted(statementId: string, reportedAt: string, reason = 'misreported'): this {
    return this.push('StatementRetracted', { statementId, reportedAt, reason });
  }

  sourceAttached(statementId: string, publishedAt: string, title = 'Another outlet'): this {
    return this.push('SourceAttached', { statementId, source: { title, publishedAt, quote: 'reported too' } });
  }

  get record(): CountryRecord {
    return this.events.reduce(evolveCountry, emptyCountry(this.country));
  }
}

/** An event of a country's stream as the store holds it: position, revision and time given by the caller. */
export function storedCountryEvent(country: string, type: string, data: unknown, at: { position: number; revision: number; recordedAt: string }): StoredEvent {
  return {
    eventId: `e${at.position}`,
    type,
    schemaVersion: type === 'StatementRecorded' ? 2 : 1,
    data,
    metadata: {},
    streamId: `country-${country}`,
    streamRevision: at.revision,
    position: at.position,
    recordedAt: at.recordedAt,
  };
}
