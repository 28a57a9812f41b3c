// What the projections keep in memory of each country to apply the next event, and
// how much of it: a country not in memory is loaded from its rows when an event or
// a change of day needs it, and dropped again when memory holds more than it may.
import type Database from 'better-sqlite3';
import { CountryView, type OlderStatements } from '../../projections/country-view.js';
import { nowKnown, type NowKnownStatement } from '../../projections/now-known.js';
import { PositionWriter, type PositionState } from '../../projections/position.js';
import { statementRecord, type StatementRecord } from '../../projections/statement-record.js';
import { addDays, KNOWN_NOW } from '../../projections/time.js';
import { counts } from '../../projections/timeline.js';
import { countryRowHash, type CountryRow } from './rows.js';

/** What the projections keep in memory of one country to apply the next event. */
export interface Resident {
  code: string;
  /** How many statements the country has on record. */
  statements: number;
  /**
   * Statements whose id another country recorded first (never through the API, which
   * refuses a taken id): their row is not keyed by this country's recording. Null for
   * one that does not count.
   */
  takenOver: Map<string, NowKnownStatement | null>;
  /** The statements that count, in the form the rules read. */
  view: CountryView<NowKnownStatement>;
  /** The country's row as it stands after the last event applied; written at the end of the batch when `dirty`. */
  row: CountryRow | undefined;
  rowHash: bigint;
  /** Writes the row's current position as JSON, keeping the parts it shares with the one before. */
  positionWriter: PositionWriter;
  /** The row's current position, parsed (or as derived): every event compares against it. */
  current: PositionState;
  dirty: boolean;
  used: number;
}

/** The position of a country with nothing on record. */
export const NOTHING: PositionState = {
  status: 'unknown',
  scope: null,
  weapons: [],
  underReview: false,
  endorsesLifting: false,
  confidence: null,
  decidingStatementId: null,
};

/** A page of a country's statements in valid-time order, after (day, position) and before `before`. */
interface DayPage {
  country: string;
  day: string;
  position: number;
  before: string;
  limit: number;
}

export interface ResidentLimits {
  /** How many statements, over all countries, may be kept in memory. */
  statements: number;
  /** Statements effective this many days before today or later are kept; older ones are read back from their rows. */
  days: number;
}

export class Residents {
  private readonly byCode = new Map<string, Resident>();
  /** How many statements the countries in memory keep, over all of them. */
  held = 0;
  private uses = 0;
  private readonly sql;

  constructor(db: Database.Database, private readonly limits: ResidentLimits) {
    this.sql = {
      countryRow: db.prepare<[string], CountryRow>('SELECT * FROM countries WHERE code = ?'),
      countryStatements: db.prepare<[string], { record: string }>('SELECT record FROM statements WHERE country = ? ORDER BY position'),
      // After (day, position), before `before`: the rest of that day, then the days after it, each an index
      // seek. (A row value `(effective_at, position) > (?, ?)` seeks only to the day, and paging through a
      // day with thousands of statements read the day again for every page.)
      countryStatementsByDay: db.prepare<[DayPage], { effective_at: string; position: number; record: string }>(
        `SELECT effective_at, position, record FROM (
           SELECT effective_at, position, record FROM statements
           WHERE country = @country AND effective_at = @day AND position > @position AND effective_at < @before ORDER BY position LIMIT @limit)
         UNION ALL SELECT effective_at, position, record FROM (
           SELECT effective_at, position, record FROM statements
           WHERE country = @country AND effective_at > @day AND effective_at < @before ORDER BY effective_at, position LIMIT @limit)
         ORDER BY effective_at, position LIMIT @limit`,
      ),
    };
  }

  /** A country's state in memory, loaded from its rows if it is not; undefined for a country with no row. */
  get(code: string): Resident | undefined {
    let resident = this.byCode.get(code);
    if (!resident) {
      const row = this.sql.countryRow.get(code);
      if (!row) return undefined;
      const counting: NowKnownStatement[] = [];
      for (const { record } of this.sql.countryStatements.iterate(code)) {
        const full = statementRecord(JSON.parse(record) as StatementRecord, false);
        if (counts(full, KNOWN_NOW)) counting.push(nowKnown(full));
      }
      resident = {
        code,
        statements: row.statements,
        takenOver: new Map(),
        view: CountryView.of(counting, this.olderStatements(code)),
        row,
        rowHash: countryRowHash(row),
        positionWriter: new PositionWriter(),
        current: JSON.parse(row.current) as PositionState,
        dirty: false,
        used: 0,
      };
      this.byCode.set(code, resident);
      this.held += resident.view.size;
    }
    resident.used = ++this.uses;
    return resident;
  }

  /** A country with nothing on record yet. */
  add(code: string): Resident {
    const resident: Resident = {
      code,
      statements: 0,
      takenOver: new Map(),
      view: CountryView.of<NowKnownStatement>([], this.olderStatements(code)),
      row: undefined,
      rowHash: 0n,
      positionWriter: new PositionWriter(),
      current: NOTHING,
      dirty: false,
      used: ++this.uses,
    };
    this.byCode.set(code, resident);
    return resident;
  }

  /** A country's state if it is in memory, without loading it or counting a use. */
  peek(code: string): Resident | undefined {
    return this.byCode.get(code);
  }

  values(): IterableIterator<Resident> {
    return this.byCode.values();
  }

  /** Forgets every country: after a failed write, memory must not run ahead of the rows. */
  clear(): void {
    this.byCode.clear();
    this.held = 0;
  }

  /**
   * Drops statements older than the days kept, then, if memory still holds more
   * statements than it may, the countries used least recently.
   */
  evict(today: string | null): void {
    if (today !== null) {
      const keepFrom = addDays(today, -this.limits.days);
      this.held = 0;
      for (const resident of this.byCode.values()) {
        if (resident.takenOver.size === 0) resident.view.keepFrom(keepFrom);
        this.held += resident.view.size;
      }
    }
    if (this.held <= this.limits.statements) return;
    const byUse = [...this.byCode.values()].sort((a, b) => a.used - b.used);
    for (const resident of byUse) {
      if (this.held <= this.limits.statements) break;
      this.byCode.delete(resident.code);
      this.held -= resident.view.size;
    }
  }

  /** Reads back a country's statements that count, older than those it keeps in memory, by day, a page at a time. */
  private olderStatements(code: string): OlderStatements<NowKnownStatement> {
    const sql = this.sql.countryStatementsByDay;
    return function* (fromDay, beforeDay) {
      // A revision mostly stops within a day or two: small pages first.
      for (let day = fromDay, position = -1, page = 16; ; page = Math.min(page * 4, 1024)) {
        const rows = sql.all({ country: code, day, position, before: beforeDay, limit: page });
        for (const row of rows) {
          const record = statementRecord(JSON.parse(row.record) as StatementRecord, false); // dates parsed when read: it is not derived over
          if (counts(record, KNOWN_NOW)) yield nowKnown(record);
        }
        if (rows.length < page) return;
        ({ effective_at: day, position } = rows[rows.length - 1]);
      }
    };
  }
}
