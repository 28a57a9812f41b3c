// The write side for statements: checks a command against what the log holds,
// then appends to the country's stream with optimistic concurrency. Replies
// only once the read model has applied the append, so a client reads its own
// write straight away. An imported log is held to the same rules, event by
// event, by statement-ledger.ts: a rule added here belongs there too.
import type { EventMetadata } from '../../events/envelope.js';
import { eventIdFor, newId } from '../../events/event-ids.js';
import { countryStream, decodeEvent, newEvent } from '../../events/registry.js';
import type { SourceAttached } from '../../events/source-attached.js';
import type { StatementRecorded } from '../../events/statement-recorded.js';
import type { StatementRetracted } from '../../events/statement-retracted.js';
import { firstReported } from '../../projections/position.js';
import { emptyCountry, evolveCountry, type CountryRecord } from '../../projections/statement-record.js';
import { instantOf, lastInstantOf } from '../../projections/time.js';
import type { ProjectionRunner } from '../read-model/projection-runner.js';
import type { ReadModel } from '../read-model/read-model.js';
import { DuplicateEventError, StreamConflictError, type EventStore, type ExpectedRevision } from '../store/event-store.js';
import { DomainRuleError, StatementExistsError, StatementNotFoundError } from './errors.js';
import { CLOCK_SKEW_MS } from './clock-skew.js';
import { sameReportIn } from './same-source.js';

export interface WriteOptions {
  /** Used as the event id, so the same idempotent request can never append twice. */
  eventId?: string;
  metadata?: EventMetadata;
  /** The country stream revision the client last saw (If-Match), or 'no-stream' for a country with no events yet; any when absent. */
  expectedRevision?: number | 'no-stream';
}

export interface WriteResult {
  statementId: string;
  country: string;
  position: number;
  revision: number;
}

const RETRIES_ON_CONFLICT = 5;

/** The id of the event that records a statement whose id the client chose. */
export const recordingEventId = (statementId: string) => eventIdFor(`statement|${statementId}`);

export type RecordStatement = Omit<StatementRecorded, 'statementId'> & { statementId?: string };

export class StatementService {
  constructor(
    private readonly store: EventStore,
    private readonly readModel: ReadModel,
    private readonly runner: ProjectionRunner,
    private readonly now: () => number = Date.now,
  ) {}

  async record(given: RecordStatement, options: WriteOptions = {}): Promise<WriteResult> {
    const command: RecordStatement = {
      ...given,
      reportedAt: this.notAfterNow(given.reportedAt, 'reportedAt'),
      sources: given.sources.map((source, i) => this.sourceAsOfNow(source, `sources.${i}`)),
    };
    const statementId = command.statementId ?? newId();
    command.sources.forEach((source, i) => {
      const earlier = sameReportIn(command.sources.slice(0, i), source);
      if (earlier >= 0) throw new DomainRuleError(`sources.${i}`, `is the same report as sources.${earlier} (same URL, or same publisher, title and day): a source counts once`);
    });
    if (command.stance === 'prohibits' && (command.scope.excludedWeapons?.length ?? 0) > 0) {
      // DOMAIN.md gives a weapon excluded from a permission its own status (prohibited), and none
      // to one excluded from a prohibition: refused rather than silently following the headline.
      throw new DomainRuleError('scope.excludedWeapons', 'a prohibition cannot except weapons: record the weapons that may be used as a permits statement that names them');
    }
    const excluded = new Set(command.scope.excludedWeapons?.map((system) => system.toUpperCase()));
    const both = command.scope.weapons?.find((system) => excluded.has(system.toUpperCase()));
    if (both !== undefined) {
      // Named in both lists the system would take the status of `weapons` and the exclusion be
      // dropped without a word: a statement says one or the other. Systems are one whatever their case.
      throw new DomainRuleError('scope.excludedWeapons', `names ${both}, which scope.weapons names too: a statement either covers a system or excludes it`);
    }
    if (command.datePrecision === 'month' && !command.effectiveAt.endsWith('-01')) {
      // A statement known only by its month counts from the day stored, while answers name the month
      // alone ("effective May 2024"): on 10 May one stored as 20 May would read "May 2024 ... had not
      // taken effect yet". The first of the month is the one day that makes both say the same.
      throw new DomainRuleError('effectiveAt', `with datePrecision "month", must be the first day of its month (${command.effectiveAt.slice(0, 8)}01): the position counts it from that day`);
    }
    if (command.statementId && this.readModel.statement(command.statementId)) throw new StatementExistsError(command.statementId);
    if (command.supersedes) {
      const corrected = this.readModel.statement(command.supersedes);
      if (!corrected || corrected.country !== command.country) {
        throw new DomainRuleError('supersedes', `must name a statement of ${command.country} already on record`);
      }
    }
    // A statement id the client chose names the event, so two requests racing with the same id
    // cannot both be acknowledged: the log refuses the second, whatever their Idempotency-Keys
    // (a retry of one request finds its event there, by the key in its metadata).
    const eventId = command.statementId ? recordingEventId(command.statementId) : options.eventId;
    const event = newEvent('StatementRecorded', { ...command, statementId }, options.metadata, eventId);
    const expected: ExpectedRevision = options.expectedRevision ?? 'any';
    try {
      const result = await this.store.append(countryStream(command.country), [event], expected);
      return this.settled({ statementId, country: command.country, position: result.positions[0], revision: result.nextExpectedRevision });
    } catch (error) {
      // Its event is there already: the id the client chose is taken (by a retry of this very request, or not: the caller tells).
      if (error instanceof DuplicateEventError && command.statementId) throw new StatementExistsError(statementId);
      throw error;
    }
  }

  async retract(statementId: string, given: Omit<StatementRetracted, 'statementId'>, options: WriteOptions = {}): Promise<WriteResult> {
    const retraction = {
      ...given,
      reportedAt: this.notAfterNow(given.reportedAt, 'reportedAt'),
      ...(given.source ? { source: this.sourceAsOfNow(given.source, 'source') } : {}),
    };
    return this.decideAndAppend(statementId, options, (record) => {
      const statement = record.statements.find((s) => s.statementId === statementId)!;
      if (statement.retraction) throw new DomainRuleError('statementId', 'the statement is already retracted', 409);
      // Public since its reportedAt, or its earliest source if that came sooner (as answers count it).
      // A retraction known only by its day may be on the day the statement was reported, at whatever
      // hour: the day's last instant is what must not be before it.
      if (lastInstantOf(retraction.reportedAt) < firstReported(statement)) {
        throw new DomainRuleError('reportedAt', 'a retraction cannot be reported before the statement it retracts');
      }
      return newEvent('StatementRetracted', { ...retraction, statementId }, options.metadata, options.eventId);
    });
  }

  async attachSource(statementId: string, given: SourceAttached['source'], options: WriteOptions = {}): Promise<WriteResult> {
    const source = this.sourceAsOfNow(given, 'source');
    return this.decideAndAppend(statementId, options, (record) => {
      const statement = record.statements.find((s) => s.statementId === statementId)!;
      if (sameReportIn(statement.sources, source) >= 0) {
        throw new DomainRuleError('source', 'is already attached to the statement (same URL, or same publisher, title and day): a source counts once', 409);
      }
      return newEvent('SourceAttached', { statementId, source }, options.metadata, options.eventId);
    });
  }

  /**
   * Decides against the country's stream as the log holds it (not the read model,
   * which may lag), and appends expecting the revision it decided on. A conflict with
   * an unrelated concurrent write is decided again, unless the client pinned a revision.
   */
  private async decideAndAppend(
    statementId: string,
    options: WriteOptions,
    decide: (record: CountryRecord) => ReturnType<typeof newEvent>,
  ): Promise<WriteResult> {
    const country = this.readModel.statement(statementId)?.country;
    if (!country) throw new StatementNotFoundError(statementId);
    for (let attempt = 0; ; attempt++) {
      const stored = await this.store.readStream(countryStream(country));
      // This very request is already written (a retry racing the first try with one Idempotency-Key):
      // that write is the answer, not a refusal by rules it changed itself ("already attached").
      if (options.eventId && stored.some((event) => event.eventId === options.eventId)) throw new DuplicateEventError(options.eventId);
      const events = stored.map(decodeEvent);
      const record = events.reduce(evolveCountry, emptyCountry(country));
      if (!record.statements.some((s) => s.statementId === statementId)) throw new StatementNotFoundError(statementId);
      const expected = options.expectedRevision ?? record.revision;
      try {
        const result = await this.store.append(countryStream(country), [decide(record)], expected);
        return this.settled({ statementId, country, position: result.positions[0], revision: result.nextExpectedRevision });
      } catch (error) {
        if (!(error instanceof StreamConflictError) || options.expectedRevision !== undefined || attempt >= RETRIES_ON_CONFLICT) throw error;
      }
    }
  }

  private async settled(result: WriteResult): Promise<WriteResult> {
    await this.runner.waitFor(result.position);
    return result;
  }

  /**
   * A time a client or a source gives may run a little ahead of this server's clock (a client
   * sending its own "now"). Within CLOCK_SKEW_MS it is recorded as this server's now, which it
   * cannot truly be later than: left ahead, the statement would count in everything derived from
   * the log (`/v1/countries`, `/history`, the changes and webhooks) at once, but in `/position` as
   * known now only minutes later. Further ahead it is refused.
   */
  private notAfterNow(dayOrInstant: string, field: string): string {
    const now = this.now();
    const instant = instantOf(dayOrInstant);
    if (instant <= now) return dayOrInstant;
    if (instant > now + CLOCK_SKEW_MS) throw new DomainRuleError(field, 'cannot be in the future');
    return new Date(now).toISOString();
  }

  private sourceAsOfNow<S extends { publishedAt: string }>(source: S, field: string): S {
    const publishedAt = this.notAfterNow(source.publishedAt, `${field}.publishedAt`);
    return publishedAt === source.publishedAt ? source : { ...source, publishedAt };
  }
}
