// What the write side knows when it decides whether a statement event may be
// appended, as a fold over the log: which statement ids are recorded, in which
// stream, whether retracted, and since when public. The API refuses a command
// that breaks these rules (statement-service.ts), so a log it wrote passes
// them event by event; a log that is imported must pass them too, or the
// service would serve positions no one could have recorded. Pure: no clock, no
// I/O; the data is the event's, already upcast and valid.
import type { SourceAttached } from '../../events/source-attached.js';
import type { StatementRecorded } from '../../events/statement-recorded.js';
import type { StatementRetracted } from '../../events/statement-retracted.js';
import { countryStream, isKnownEventType } from '../../events/registry.js';
import { countryOfStream } from '../../projections/statement-record.js';
import { firstReported } from '../../projections/position.js';
import { instantOf, lastInstantOf } from '../../projections/time.js';

interface LedgerEntry {
  streamId: string;
  /** The log position of its recording. */
  position: number;
  retracted: boolean;
  /** Its reportedAt or its earliest source's publishedAt, whichever is sooner (epoch ms): a retraction may not be dated before. */
  firstReported: number;
}

/** statementId -> what the log has said of it so far. */
export type StatementLedger = Map<string, LedgerEntry>;

export const emptyLedger = (): StatementLedger => new Map();

export interface LedgerEvent {
  streamId: string;
  position: number;
  type: string;
  /** In the current schema version. */
  data: unknown;
}

/**
 * Why the write side would have refused `event` after the events already in the
 * ledger, or undefined: then the event is folded into the ledger (in place: a log
 * has millions of events). What the service may have written though its rules say
 * otherwise is admitted, and `warn` told.
 */
export function admit(ledger: StatementLedger, event: LedgerEvent, warn?: (message: string) => void): string | undefined {
  // The API writes only statement events to a country's stream, and statement events only there.
  if (!isKnownEventType(event.type)) {
    return countryOfStream(event.streamId) ? `${event.streamId} holds statement events only, not ${event.type}` : undefined;
  }
  const { statementId } = event.data as { statementId: string };
  const entry = ledger.get(statementId);
  if (event.type === 'StatementRecorded') {
    const data = event.data as StatementRecorded;
    if (event.streamId !== countryStream(data.country)) return `a statement of ${data.country} belongs in ${countryStream(data.country)}, not ${event.streamId}`;
    if (data.supersedes !== undefined && ledger.get(data.supersedes)?.streamId !== event.streamId) {
      return `supersedes ${data.supersedes}, which is not an earlier statement of ${data.country}`;
    }
    if (entry) {
      // The API refuses a taken id (409), but two requests racing with the same id, each with its own
      // Idempotency-Key, can both be written: an export of such a log must still import. It is read as
      // the service read it: in the same country the first recording counts; in another, the later
      // one takes the id over, and sources and retractions naming it go to its stream.
      warn?.(`statement ${statementId} is recorded again at position ${event.position} in ${event.streamId} (first at ${entry.position} in ${entry.streamId}); it is read as the service read it`);
      if (entry.streamId === event.streamId) return undefined;
    }
    ledger.set(statementId, { streamId: event.streamId, position: event.position, retracted: false, firstReported: firstReported(data) });
    return undefined;
  }
  // A retraction or a source is appended to the stream of the statement it names, once that is recorded.
  if (entry?.streamId !== event.streamId) return `${event.type} names statement ${statementId}, which is not recorded earlier in ${event.streamId}`;
  if (event.type === 'StatementRetracted') {
    const data = event.data as StatementRetracted;
    if (entry.retracted) return `statement ${statementId} is already retracted`;
    if (lastInstantOf(data.reportedAt) < entry.firstReported) return `the retraction of ${statementId} is reported before the statement it retracts`;
    entry.retracted = true;
  } else {
    entry.firstReported = Math.min(entry.firstReported, instantOf((event.data as SourceAttached).source.publishedAt));
  }
  return undefined;
}
