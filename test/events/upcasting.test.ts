import { describe, expect, it } from 'vitest';
import { decodeEvent, eventCatalog, newEvent, UnknownEventTypeError } from '../../events/registry.js';

const stored = (type: string, schemaVersion: number, data: unknown) => ({
  eventId: '3f0c2f7e-8f5e-4a5e-9f3e-2b1f5d6c7a8b',
  type,
  schemaVersion,
  data,
  metadata: {},
  streamId: 'country-US',
  streamRevision: 0,
  position: 1,
  recordedAt: '2024-05-30T12:00:00.000Z',
});

describe('the event catalog', () => {
  it('reads a StatementRecorded written in version 1 (flat speaker, single source) as the current version', () => {
    const v1 = {
      statementId: 'us-kirby',
      country: 'US',
      stance: 'prohibits',
      speakerName: 'John Kirby',
      speakerRole: 'NSC spokesman',
      attribution: 'official',
      source: { title: 'US holds firm', publishedAt: '2024-05-29', quote: 'no change' },
      effectiveAt: '2024-05-28',
      reportedAt: '2024-05-28',
    };
    const event = decodeEvent(stored('StatementRecorded', 1, v1));
    expect(event.schemaVersion).toBe(eventCatalog.StatementRecorded.version);
    expect(event.data).toEqual({
      statementId: 'us-kirby',
      country: 'US',
      stance: 'prohibits',
      scope: {},
      speaker: { name: 'John Kirby', role: 'NSC spokesman', attribution: 'official' },
      sources: [{ title: 'US holds firm', publishedAt: '2024-05-29', quote: 'no change' }],
      effectiveAt: '2024-05-28',
      datePrecision: 'day',
      reportedAt: '2024-05-28',
    });
  });

  it('refuses unknown types and data that does not fit the schema', () => {
    expect(() => decodeEvent(stored('Nope', 1, {}))).toThrow(UnknownEventTypeError);
    expect(() => newEvent('SourceAttached', { statementId: 'x', source: { title: '', publishedAt: '2024-02-30', quote: 'q' } } as never)).toThrow();
  });

  it('rejects unknown country codes and impossible dates in a statement', () => {
    const base = {
      statementId: 's', country: 'US', stance: 'permits', speaker: { attribution: 'official' },
      sources: [{ title: 't', publishedAt: '2024-05-30', quote: 'q' }], effectiveAt: '2024-05-30', reportedAt: '2024-05-30',
    };
    expect(eventCatalog.StatementRecorded.schema.safeParse(base).success).toBe(true);
    expect(eventCatalog.StatementRecorded.schema.safeParse({ ...base, country: 'XX' }).success).toBe(false);
    expect(eventCatalog.StatementRecorded.schema.safeParse({ ...base, effectiveAt: '2024-02-30' }).success).toBe(false);
  });
});
