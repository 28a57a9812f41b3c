// The SQLite read model: statements, countries with their current position,
// the change feed, and a content fingerprint after every log position. `apply` is the only writer; it runs the pure projections and
// stores their results with the checkpoint in one transaction, so every event
// is applied exactly once, even across a crash.
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import type { StoredEvent } from '../../events/envelope.js';
import { decodeEvent, isKnownEventType } from '../../events/registry.js';
import { changesOf, changesOfDays, type Change } from '../../projections/changes.js';
import { CountryView } from '../../projections/country-view.js';
import { PROJECTION_VERSION } from '../../projections/versions.js';
import type { PositionState } from '../../projections/position.js';
import { countryFrom, countryOfStream, emptyCountry, evolveCountry, statementOf, type CountryRecord, type StatementRecord } from '../../projections/statement-record.js';
import { dayOf } from '../../projections/time.js';
import { ContentFingerprint } from './fingerprint.js';
import { READ_MODEL_MIGRATIONS, READ_MODEL_SCHEMA } from './schema.js';

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
  since: string | null;
  statements: number;
}

export interface StatementPageQuery {
  country?: string;
  from?: string;
  to?: string;
  afterPosition: number;
  limit: number;
}

/** A row of the change feed as stored; the webhook dispatcher reads the same table. */
export interface ChangeRow {
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
  since: string | null;
  statements: number;
  next_change: string | null;
}

export interface ReadModelOptions {
  /** Shared by a read model and the shadow that replaces it, so listeners survive the swap. */
  events?: EventEmitter;
  /** The projection version this read model is built with; PROJECTION_VERSION unless a test says otherwise. */
  version?: string;
  /**
   * A file built from the first event by one connection and thrown away if the build
   * fails (a replay, a shadow rebuild): its rollback journal is kept in memory and nothing
   * is fsynced, so a crash may leave it corrupt. Reopened without this, it is an ordinary
   * read model in WAL mode.
   */
  scratch?: boolean;
}

// The content of a row as the fingerprint and the audit diff see it: JSON, built from the stored text.
const countryContent = (row: Omit<CountryRow, 'code'>) =>
  `{"revision":${row.revision},"position":${row.position},"current":${row.current},"since":${JSON.stringify(row.since)},"statements":${row.statements},"nextChange":${JSON.stringify(row.next_change)}}`;

const NOTHING: PositionState = {
  status: 'unknown',
  scope: null,
  weapons: [],
  underReview: false,
  endorsesLifting: false,
  confidence: null,
  decidingStatementId: null,
};
const changeContent = (row: { type: string; country: string; position: number; recordedAt: string; data: string }) =>
  `{"type":${JSON.stringify(row.type)},"country":${JSON.stringify(row.country)},"position":${row.position},"recordedAt":${JSON.stringify(row.recordedAt)},"data":${row.data}}`;

export class ReadModel {
  private readonly db: Database.Database;
  private readonly countries = new Map<string, CountryRecord>();
  private readonly views = new Map<string, CountryView>();
  private readonly countryRows = new Map<string, CountryRow>();
  /** Today's position per country, as stored, kept parsed: every event compares against it. */
  private readonly currents = new Map<string, PositionState>();
  private fingerprint: ContentFingerprint;
  /** Emits 'applied' (checkpoint position) and 'changes' (Change[]) after each commit. */
  readonly events: EventEmitter;
  readonly version: string;
  private readonly sql;

  constructor(readonly file: string, options: ReadModelOptions = {}) {
    this.db = new Database(file);
    if (options.scratch) {
      // A rollback still works (a batch that fails must leave no rows); a crash needs no recovery.
      this.db.pragma('journal_mode = MEMORY');
      this.db.pragma('synchronous = OFF');
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('cache_size = -65536');
    } else {
      this.db.pragma('journal_mode = WAL');
      // NORMAL is enough here: a lost tail of read-model commits takes its checkpoint with
      // it, and those events are applied again from the log.
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(READ_MODEL_SCHEMA);
    this.migrate();
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
      begin: this.db.prepare('BEGIN'),
      commit: this.db.prepare('COMMIT'),
      changingBy: this.db.prepare<[string], { code: string }>('SELECT code FROM countries WHERE next_change IS NOT NULL AND next_change <= ? ORDER BY code'),
      upsertStatement: this.db.prepare(
        `INSERT INTO statements (statement_id, country, effective_at, position, record) VALUES (@statementId, @country, @effectiveAt, @position, @record)
         ON CONFLICT (statement_id) DO UPDATE SET record = excluded.record`,
      ),
      upsertCountry: this.db.prepare(
        `INSERT INTO countries (code, revision, position, current, since, statements, next_change)
         VALUES (@code, @revision, @position, @current, @since, @statements, @next_change)
         ON CONFLICT (code) DO UPDATE SET revision = excluded.revision, position = excluded.position, current = excluded.current,
           since = excluded.since, statements = excluded.statements, next_change = excluded.next_change`,
      ),
      insertChange: this.db.prepare(
        'INSERT OR IGNORE INTO changes (id, type, country, position, recorded_at, data) VALUES (@id, @type, @country, @position, @recordedAt, @data)',
      ),
      statementById: this.db.prepare<[string], { record: string }>('SELECT record FROM statements WHERE statement_id = ?'),
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

  /**
   * How far the log has been applied. Kept in memory after each commit (every
   * read asks), read from the file when another process may have moved it.
   */
  checkpoint(fromFile = false): Checkpoint {
    if (fromFile || !this.lastCheckpoint) this.lastCheckpoint = this.sql.checkpoint.get() as Checkpoint;
    return this.lastCheckpoint;
  }

  private lastCheckpoint: Checkpoint | undefined;

  private migrate(): void {
    const columns = new Map<string, string[]>();
    for (const table of ['countries']) {
      columns.set(table, this.db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all().map((c) => c.name));
    }
    for (const migration of READ_MODEL_MIGRATIONS) if (migration.applies(columns)) this.db.exec(migration.sql);
  }

  /**
   * Applies a batch of events in one transaction. Events at or before the
   * checkpoint are skipped, which is what makes a re-delivered batch harmless.
   */
  apply(events: readonly StoredEvent[]): Change[] {
    const emitted: Change[] = [];
    const position = this.write(() => {
      let { position, today } = this.checkpoint();
      for (const event of events) {
        if (event.position <= position) continue;
        const day = dayOf(event.recordedAt);
        if (today === null) today = day;
        if (day > today) {
          emitted.push(...this.rollDays(today, day, position));
          today = day;
        }
        const country = countryOfStream(event.streamId);
        if (country && isKnownEventType(event.type)) emitted.push(...this.applyToCountry(country, event, today));
        position = event.position;
        this.sql.setFingerprint.run(position, today, this.fingerprint.hex);
      }
      this.sql.setCheckpoint.run(position, today);
      return position;
    });
    this.events.emit('applied', position);
    if (emitted.length > 0) this.events.emit('changes', emitted);
    return emitted;
  }

  private applyToCountry(country: string, event: StoredEvent, today: string): Change[] {
    const record = this.country(country) ?? this.register(emptyCountry(country));
    const view = this.view(record);
    const decoded = decodeEvent(event);
    const statementId = (decoded.data as { statementId: string }).statementId;
    const existing = statementOf(record, statementId);
    const isNew = decoded.type === 'StatementRecorded' && !existing;
    const storedBefore = existing ? JSON.stringify(existing) : undefined;
    const currentBefore = this.currentOf(country);

    evolveCountry(record, decoded);
    const statement = statementOf(record, statementId);
    let before = view.intervals;
    let after = view.intervals;
    let from: string | undefined;
    if ((isNew || decoded.type === 'StatementRetracted') && statement) {
      // Only days from the statement's effectiveAt on can change.
      from = statement.effectiveAt;
      before = view.tailFrom(from);
      // Recorded in the order it takes effect (the usual case), it extends the view in place.
      if (!(isNew && view.extend(statement))) view.reviseFrom(from, record.statements);
      after = view.tailFrom(from);
    }
    const current = view.positionOn(today, record.statements);
    const changes = changesOf(decoded, record, today, { timeline: before, current: currentBefore }, { timeline: after, current }, from);

    if (statement) {
      const stored = JSON.stringify(statement);
      if (stored !== storedBefore) {
        this.sql.upsertStatement.run({ statementId, country, effectiveAt: statement.effectiveAt, position: statement.position, record: stored });
        this.fingerprint.replace('statements', statementId, storedBefore, stored);
      }
    }
    this.storeCountry(record, event.position, current, view, today);
    for (const change of changes) this.insertChange(change);
    return changes;
  }

  /** Moves "today" forward when no event does: statements that take effect on the new days change today's position. */
  advanceTo(day: string): Change[] {
    const emitted = this.write(() => {
      const { position, today } = this.checkpoint();
      if (today === null || day <= today) return [];
      const changes = this.rollDays(today, day, position);
      this.sql.setCheckpoint.run(position, day);
      this.sql.setFingerprint.run(position, day, this.fingerprint.hex);
      return changes;
    });
    if (emitted.length > 0) this.events.emit('changes', emitted);
    return emitted;
  }

  /** Runs a write transaction; if it fails, in-memory state is dropped so it cannot run ahead of the rows. */
  private write<T>(work: () => T): T {
    const fingerprintBefore = this.fingerprint.hex;
    this.lastCheckpoint = undefined; // inside the transaction, always from the rows
    try {
      const result = this.db.transaction(work).immediate();
      this.lastCheckpoint = undefined;
      return result;
    } catch (error) {
      this.fingerprint = ContentFingerprint.fromHex(fingerprintBefore);
      this.countries.clear();
      this.views.clear();
      this.countryRows.clear();
      this.currents.clear();
      throw error;
    }
  }

  private rollDays(fromDay: string, toDay: string, position: number): Change[] {
    const changes: Change[] = [];
    // Only countries with a statement taking effect by toDay are loaded; the rest cannot change.
    for (const { code } of this.sql.changingBy.all(toDay)) {
      const record = this.country(code);
      if (!record) continue;
      const view = this.view(record);
      const dayChanges = changesOfDays(record, view.intervals, fromDay, toDay, position);
      this.storeCountry(record, this.countryRow(code)!.position, view.positionOn(toDay, record.statements), view, toDay);
      for (const change of dayChanges) this.insertChange(change);
      changes.push(...dayChanges);
    }
    return changes;
  }

  private storeCountry(record: CountryRecord, position: number, current: PositionState, view: CountryView, today: string): void {
    const row: CountryRow = {
      code: record.country,
      revision: record.revision,
      position,
      current: JSON.stringify(current),
      since: view.since(today),
      statements: record.statements.length,
      next_change: view.nextChangeAfter(today),
    };
    const previous = this.countryRow(record.country);
    this.sql.upsertCountry.run(row);
    this.fingerprint.replace('countries', row.code, previous ? countryContent(previous) : undefined, countryContent(row));
    this.countryRows.set(row.code, row);
    this.currents.set(row.code, current);
  }

  private currentOf(code: string): PositionState {
    let current = this.currents.get(code);
    if (!current) {
      const row = this.countryRow(code);
      current = row ? (JSON.parse(row.current) as PositionState) : NOTHING;
      this.currents.set(code, current);
    }
    return current;
  }

  private view(record: CountryRecord): CountryView {
    return this.views.get(record.country) ?? this.resweep(record);
  }

  private resweep(record: CountryRecord): CountryView {
    const view = CountryView.of(record.statements);
    this.views.set(record.country, view);
    return view;
  }

  private register(record: CountryRecord): CountryRecord {
    this.countries.set(record.country, record);
    return record;
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
    return this.register(countryFrom(code, row.revision, statements));
  }

  countrySummaries(): CountrySummary[] {
    return this.sql.countryCodes.all().map(({ code }) => {
      const row = this.countryRow(code)!;
      return { code, revision: row.revision, position: row.position, current: JSON.parse(row.current) as PositionState, since: row.since, statements: row.statements };
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
    const sql = `SELECT record FROM statements WHERE ${where.join(' AND ')} ORDER BY position LIMIT @limit`;
    // Eight combinations of filters at most: each is prepared once.
    let statement = this.statementPages.get(sql);
    if (!statement) {
      statement = this.db.prepare<Record<string, unknown>, { record: string }>(sql);
      this.statementPages.set(sql, statement);
    }
    return statement.all({ ...query }).map((r) => JSON.parse(r.record) as StatementRecord);
  }

  private readonly statementPages = new Map<string, Database.Statement<Record<string, unknown>, { record: string }>>();

  /** Changes after a log position. A page never splits the changes of one event. */
  changes(afterPosition: number, limit: number): Change[] {
    const rows = this.sql.changesAfter.all(afterPosition, limit);
    if (rows.length === limit) {
      const last = rows[rows.length - 1];
      rows.push(...this.sql.changesAtPosition.all(last.position, last.seq));
    }
    return rows.map(changeOfRow);
  }

  /** The content fingerprint after log position `position` (the latest when omitted). */
  fingerprintAt(position: number = Number.MAX_SAFE_INTEGER): Fingerprint {
    return this.sql.fingerprintAt.get(position) ?? { position: 0, today: null, fingerprint: new ContentFingerprint().hex };
  }

  /**
   * Runs `work` inside one read transaction, so every read sees the file as it was
   * when the first one ran, however another connection writes meanwhile. Only for an
   * instance that does not write itself (a replay's view of the live read model).
   */
  async readSnapshot<T>(work: () => Promise<T>): Promise<T> {
    this.sql.begin.run();
    try {
      return await work();
    } finally {
      this.sql.commit.run();
      this.lastCheckpoint = undefined;
    }
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
        .map((r) => ({ ...r, current: JSON.parse(r.current) })),
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
  countries: Array<{ code: string; revision: number; position: number; current: PositionState; since: string | null; statements: number; next_change: string | null }>;
  changes: Array<Omit<ChangeRow, 'seq' | 'data'> & { data: unknown }>;
}

export function changeOfRow(r: ChangeRow): Change {
  return { id: r.id, type: r.type, country: r.country, position: r.position, recordedAt: r.recorded_at, data: JSON.parse(r.data) as Record<string, unknown> };
}
