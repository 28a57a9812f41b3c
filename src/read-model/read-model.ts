// The SQLite read model: statements, countries with their current position
// and timeline, the change feed, and a content fingerprint after every log
// position. `apply` is the only writer; it runs the pure projections and
// stores their results with the checkpoint in one transaction, so every event
// is applied exactly once, even across a crash.
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import type { StoredEvent } from '../../events/envelope.js';
import { decodeEvent, isKnownEventType } from '../../events/registry.js';
import { changesOf, changesOfDays, positionToday, timelineOf, type Change, type Derived } from '../../projections/changes.js';
import { PROJECTION_VERSION } from '../../projections/versions.js';
import type { PositionState } from '../../projections/position.js';
import { countryOfStream, emptyCountry, evolveCountry, type CountryRecord, type StatementRecord } from '../../projections/statement-record.js';
import { dayOf } from '../../projections/time.js';
import type { Interval } from '../../projections/timeline.js';
import { ContentFingerprint } from './fingerprint.js';
import { READ_MODEL_SCHEMA } from './schema.js';

export interface Checkpoint {
  position: number;
  today: string | null;
}

export interface Fingerprint {
  position: number;
  today: string | null;
  fingerprint: string;
}

export interface CountrySummary {
  code: string;
  revision: number;
  position: number;
  current: PositionState;
  timeline: Interval[];
  statements: number;
}

export interface StatementPageQuery {
  country?: string;
  from?: string;
  to?: string;
  afterPosition: number;
  limit: number;
}

interface ChangeRow {
  seq: number;
  id: string;
  type: Change['type'];
  country: string;
  position: number;
  recorded_at: string;
  data: string;
}

interface CountryRow {
  code: string;
  revision: number;
  position: number;
  current: string;
  timeline: string;
}

export interface ReadModelOptions {
  /** Shared by a read model and the shadow that replaces it, so listeners survive the swap. */
  events?: EventEmitter;
  /** The projection version this read model is built with; PROJECTION_VERSION unless a test says otherwise. */
  version?: string;
}

// The content of a row as the fingerprint and the audit diff see it: JSON, built from the stored text.
const countryContent = (row: Omit<CountryRow, 'code'>) =>
  `{"revision":${row.revision},"position":${row.position},"current":${row.current},"timeline":${row.timeline}}`;
const changeContent = (row: { type: string; country: string; position: number; recordedAt: string; data: string }) =>
  `{"type":${JSON.stringify(row.type)},"country":${JSON.stringify(row.country)},"position":${row.position},"recordedAt":${JSON.stringify(row.recordedAt)},"data":${row.data}}`;

export class ReadModel {
  private readonly db: Database.Database;
  private readonly countries = new Map<string, CountryRecord>();
  private readonly countryRows = new Map<string, CountryRow>();
  private fingerprint: ContentFingerprint;
  /** Emits 'applied' (checkpoint position) and 'changes' (Change[]) after each commit. */
  readonly events: EventEmitter;
  readonly version: string;
  private readonly sql;

  constructor(readonly file: string, options: ReadModelOptions = {}) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL is enough here: a lost tail of read-model commits takes its checkpoint with
    // it, and those events are applied again from the log.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(READ_MODEL_SCHEMA);
    this.events = options.events ?? new EventEmitter();
    this.events.setMaxListeners(0);
    this.version = options.version ?? PROJECTION_VERSION;
    this.sql = {
      checkpoint: this.db.prepare<[], Checkpoint>('SELECT position, today FROM checkpoint WHERE id = 1'),
      setCheckpoint: this.db.prepare<[number, string | null]>('UPDATE checkpoint SET position = ?, today = ? WHERE id = 1'),
      meta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      countryStatements: this.db.prepare<[string], { record: string }>('SELECT record FROM statements WHERE country = ? ORDER BY position'),
      countryRow: this.db.prepare<[string], CountryRow>('SELECT * FROM countries WHERE code = ?'),
      countryCodes: this.db.prepare<[], { code: string }>('SELECT code FROM countries ORDER BY code'),
      upsertStatement: this.db.prepare(
        `INSERT INTO statements (statement_id, country, effective_at, position, record) VALUES (@statementId, @country, @effectiveAt, @position, @record)
         ON CONFLICT (statement_id) DO UPDATE SET record = excluded.record`,
      ),
      upsertCountry: this.db.prepare(
        `INSERT INTO countries (code, revision, position, current, timeline) VALUES (@code, @revision, @position, @current, @timeline)
         ON CONFLICT (code) DO UPDATE SET revision = excluded.revision, position = excluded.position, current = excluded.current, timeline = excluded.timeline`,
      ),
      insertChange: this.db.prepare(
        'INSERT OR IGNORE INTO changes (id, type, country, position, recorded_at, data) VALUES (@id, @type, @country, @position, @recordedAt, @data)',
      ),
      statementById: this.db.prepare<[string], { record: string }>('SELECT record FROM statements WHERE statement_id = ?'),
      countStatements: this.db.prepare<[], { country: string; n: number }>('SELECT country, COUNT(*) AS n FROM statements GROUP BY country'),
      changesAfter: this.db.prepare<[number, number], ChangeRow>('SELECT * FROM changes WHERE position > ? ORDER BY seq LIMIT ?'),
      changesAtPosition: this.db.prepare<[number, number], ChangeRow>('SELECT * FROM changes WHERE position = ? AND seq > ? ORDER BY seq'),
      setFingerprint: this.db.prepare<[number, string | null, string]>(
        'INSERT INTO fingerprints (position, today, hash) VALUES (?, ?, ?) ON CONFLICT (position) DO UPDATE SET today = excluded.today, hash = excluded.hash',
      ),
      fingerprintAt: this.db.prepare<[number], Fingerprint>(
        'SELECT position, today, hash AS fingerprint FROM fingerprints WHERE position <= ? ORDER BY position DESC LIMIT 1',
      ),
    };
    if (!this.builtWith()) this.sql.setMeta.run('projection_version', this.version);
    this.fingerprint = ContentFingerprint.fromHex(this.sql.fingerprintAt.get(Number.MAX_SAFE_INTEGER)?.fingerprint);
  }

  /** The projection version the stored rows were built with. */
  builtWith(): string | undefined {
    return this.sql.meta.get('projection_version')?.value;
  }

  checkpoint(): Checkpoint {
    return this.sql.checkpoint.get() as Checkpoint;
  }

  /**
   * Applies a batch of events in one transaction. Events at or before the
   * checkpoint are skipped, which is what makes a re-delivered batch harmless.
   */
  apply(events: readonly StoredEvent[]): Change[] {
    const staged = new Map<string, CountryRecord>();
    const emitted: Change[] = [];
    const fingerprintBefore = this.fingerprint.hex;
    const run = this.db.transaction(() => {
      let { position, today } = this.checkpoint();
      for (const event of events) {
        if (event.position <= position) continue;
        const day = dayOf(event.recordedAt);
        if (today === null) today = day;
        if (day > today) {
          emitted.push(...this.rollDays(today, day, position, staged));
          today = day;
        }
        const country = countryOfStream(event.streamId);
        if (country && isKnownEventType(event.type)) {
          const before = staged.get(country) ?? this.country(country) ?? emptyCountry(country);
          const decoded = decodeEvent(event);
          const after = evolveCountry(before, decoded);
          const changes = changesOf(before, after, decoded, today, this.derived(country));
          this.storeStatement(before, after, statementIdOf(decoded.data));
          this.storeCountry(after, { position: event.position, current: positionToday(after, today), timeline: timelineOf(after) });
          for (const change of changes) this.insertChange(change);
          emitted.push(...changes);
          staged.set(country, after);
        }
        position = event.position;
        this.sql.setFingerprint.run(position, today, this.fingerprint.hex);
      }
      this.sql.setCheckpoint.run(position, today);
      return position;
    });
    let position: number;
    try {
      position = run.immediate();
    } catch (error) {
      this.forgetUncommitted(fingerprintBefore);
      throw error;
    }
    for (const [code, record] of staged) this.countries.set(code, record);
    this.events.emit('applied', position);
    if (emitted.length > 0) this.events.emit('changes', emitted);
    return emitted;
  }

  /** Moves "today" forward when no event does: statements that take effect on the new days change today's position. */
  advanceTo(day: string): Change[] {
    const fingerprintBefore = this.fingerprint.hex;
    const run = this.db.transaction(() => {
      const { position, today } = this.checkpoint();
      if (today === null || day <= today) return [];
      const changes = this.rollDays(today, day, position, new Map());
      this.sql.setCheckpoint.run(position, day);
      this.sql.setFingerprint.run(position, day, this.fingerprint.hex);
      return changes;
    });
    let emitted: Change[];
    try {
      emitted = run.immediate();
    } catch (error) {
      this.forgetUncommitted(fingerprintBefore);
      throw error;
    }
    if (emitted.length > 0) this.events.emit('changes', emitted);
    return emitted;
  }

  /** After a rolled-back transaction, in-memory state must not run ahead of the rows. */
  private forgetUncommitted(fingerprintHex: string): void {
    this.fingerprint = ContentFingerprint.fromHex(fingerprintHex);
    this.countryRows.clear();
  }

  private rollDays(fromDay: string, toDay: string, position: number, staged: Map<string, CountryRecord>): Change[] {
    const changes: Change[] = [];
    for (const { code } of this.sql.countryCodes.all()) {
      const record = staged.get(code) ?? this.country(code);
      if (!record) continue;
      const dayChanges = changesOfDays(record, fromDay, toDay, position);
      if (dayChanges.length === 0) continue;
      const row = this.countryRow(code)!;
      this.storeCountry(record, { position: row.position, current: positionToday(record, toDay), timeline: JSON.parse(row.timeline) });
      for (const change of dayChanges) this.insertChange(change);
      changes.push(...dayChanges);
    }
    return changes;
  }

  private storeStatement(before: CountryRecord, after: CountryRecord, statementId: string): void {
    const statement = after.statements.find((s) => s.statementId === statementId);
    if (!statement) return;
    const previous = before.statements.find((s) => s.statementId === statementId);
    const record = JSON.stringify(statement);
    const previousRecord = previous ? JSON.stringify(previous) : undefined;
    if (record === previousRecord) return;
    this.sql.upsertStatement.run({ statementId, country: statement.country, effectiveAt: statement.effectiveAt, position: statement.position, record });
    this.fingerprint.replace('statements', statementId, previousRecord, record);
  }

  private storeCountry(record: CountryRecord, derived: { position: number; current: PositionState; timeline: Interval[] }): void {
    const row: CountryRow = {
      code: record.country,
      revision: record.revision,
      position: derived.position,
      current: JSON.stringify(derived.current),
      timeline: JSON.stringify(derived.timeline),
    };
    const previous = this.countryRow(record.country);
    this.sql.upsertCountry.run(row);
    this.fingerprint.replace('countries', row.code, previous ? countryContent(previous) : undefined, countryContent(row));
    this.countryRows.set(row.code, row);
  }

  /** The timeline and today's position as stored for a country, so they are not derived twice. */
  private derived(code: string): Derived | undefined {
    const row = this.countryRow(code);
    return row ? { timeline: JSON.parse(row.timeline) as Interval[], current: JSON.parse(row.current) as PositionState } : undefined;
  }

  private countryRow(code: string): CountryRow | undefined {
    let row = this.countryRows.get(code);
    if (!row) {
      row = this.sql.countryRow.get(code);
      if (row) this.countryRows.set(code, row);
    }
    return row;
  }

  private insertChange(change: Change): void {
    const data = JSON.stringify(change.data);
    const inserted = this.sql.insertChange.run({ ...change, data }).changes > 0;
    if (inserted) this.fingerprint.replace('changes', change.id, undefined, changeContent({ ...change, data }));
  }

  /** A country's statements as the read model holds them; cached after the first read. */
  country(code: string): CountryRecord | undefined {
    const cached = this.countries.get(code);
    if (cached) return cached;
    const row = this.countryRow(code);
    if (!row) return undefined;
    const statements = this.sql.countryStatements.all(code).map((r) => JSON.parse(r.record) as StatementRecord);
    const record: CountryRecord = { country: code, revision: row.revision, statements };
    this.countries.set(code, record);
    return record;
  }

  countrySummaries(): CountrySummary[] {
    const counts = new Map(this.sql.countStatements.all().map((r) => [r.country, r.n]));
    return this.sql.countryCodes.all().map(({ code }) => {
      const row = this.countryRow(code)!;
      return {
        code,
        revision: row.revision,
        position: row.position,
        current: JSON.parse(row.current) as PositionState,
        timeline: JSON.parse(row.timeline) as Interval[],
        statements: counts.get(code) ?? 0,
      };
    });
  }

  statement(statementId: string): StatementRecord | undefined {
    const row = this.sql.statementById.get(statementId);
    return row ? (JSON.parse(row.record) as StatementRecord) : undefined;
  }

  statements(query: StatementPageQuery): StatementRecord[] {
    const where = ['position > @afterPosition'];
    if (query.country) where.push('country = @country');
    if (query.from) where.push('effective_at >= @from');
    if (query.to) where.push('effective_at <= @to');
    return this.db
      .prepare<Record<string, unknown>, { record: string }>(
        `SELECT record FROM statements WHERE ${where.join(' AND ')} ORDER BY position LIMIT @limit`,
      )
      .all({ ...query })
      .map((r) => JSON.parse(r.record) as StatementRecord);
  }

  /** Changes after a log position. A page never splits the changes of one event. */
  changes(afterPosition: number, limit: number): Change[] {
    const rows = this.sql.changesAfter.all(afterPosition, limit);
    if (rows.length === limit) {
      const last = rows[rows.length - 1];
      rows.push(...this.sql.changesAtPosition.all(last.position, last.seq));
    }
    return rows.map((r) => ({ id: r.id, type: r.type, country: r.country, position: r.position, recordedAt: r.recorded_at, data: JSON.parse(r.data) }));
  }

  /** The content fingerprint after log position `position` (the latest when omitted). */
  fingerprintAt(position: number = Number.MAX_SAFE_INTEGER): Fingerprint {
    return this.sql.fingerprintAt.get(position) ?? { position: 0, today: null, fingerprint: new ContentFingerprint().hex };
  }

  /** Every row as (table, key, content), ordered by table then key: what the fingerprint sums over. */
  *contentRows(): Generator<ContentRow> {
    for (const r of this.db.prepare<[], { key: string; content: string }>('SELECT statement_id AS key, record AS content FROM statements ORDER BY statement_id').iterate()) {
      yield { table: 'statements', key: r.key, content: r.content };
    }
    for (const r of this.db.prepare<[], CountryRow>('SELECT * FROM countries ORDER BY code').iterate()) {
      yield { table: 'countries', key: r.code, content: countryContent(r) };
    }
    for (const r of this.db.prepare<[], ChangeRow>('SELECT * FROM changes ORDER BY id').iterate()) {
      yield { table: 'changes', key: r.id, content: changeContent({ ...r, recordedAt: r.recorded_at }) };
    }
  }

  /**
   * The fingerprint computed afresh from the rows as they are, trusting nothing
   * recorded: what an audit compares, since a row changed behind the service's
   * back leaves the recorded fingerprint as it was.
   */
  recomputeFingerprint(): string {
    const fingerprint = new ContentFingerprint();
    for (const row of this.contentRows()) fingerprint.replace(row.table, row.key, undefined, row.content);
    return fingerprint.hex;
  }

  /**
   * The read model's whole content in a canonical order, free of storage details
   * (no seq numbers): two read models built from the same log dump the same.
   */
  dump(): ReadModelDump {
    return {
      checkpoint: this.checkpoint(),
      statements: this.db
        .prepare<[], { record: string }>('SELECT record FROM statements ORDER BY statement_id')
        .all()
        .map((r) => JSON.parse(r.record) as StatementRecord),
      countries: this.db
        .prepare<[], CountryRow>('SELECT * FROM countries ORDER BY code')
        .all()
        .map((r) => ({ ...r, current: JSON.parse(r.current), timeline: JSON.parse(r.timeline) })),
      changes: this.db
        .prepare<[], ChangeRow>('SELECT * FROM changes ORDER BY seq')
        .all()
        .map(({ seq: _seq, data, ...r }) => ({ ...r, data: JSON.parse(data) })),
    };
  }

  close(): void {
    this.db.close();
  }
}

export interface ContentRow {
  table: 'statements' | 'countries' | 'changes';
  key: string;
  content: string;
}

export interface ReadModelDump {
  checkpoint: Checkpoint;
  statements: StatementRecord[];
  countries: Array<{ code: string; revision: number; position: number; current: PositionState; timeline: Interval[] }>;
  changes: Array<Omit<ChangeRow, 'seq' | 'data'> & { data: unknown }>;
}

function statementIdOf(data: unknown): string {
  return (data as { statementId: string }).statementId;
}
