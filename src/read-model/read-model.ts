// The SQLite read model: statements, countries with their current position,
// the change feed, and a content fingerprint after every log position. `apply` is the only writer; it runs the pure projections and
// stores their results with the checkpoint in one transaction, so every event
// is applied exactly once, even across a crash.
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import type { StoredEvent } from '../../events/envelope.js';
import { decodeEvent, isKnownEventType } from '../../events/registry.js';
import { changesOfEvent, dayChanges, type Change } from '../../projections/changes.js';
import type { Revision } from '../../projections/country-view.js';
import { nowKnown } from '../../projections/now-known.js';
import { PROJECTION_VERSION } from '../../projections/versions.js';
import type { PositionState } from '../../projections/position.js';
import { countryFrom, countryOfStream, evolveCountry, evolveStatement, recordOf, statementRecord, type CountryRecord, type StatementRecord } from '../../projections/statement-record.js';
import { dayOf, KNOWN_NOW } from '../../projections/time.js';
import { counts } from '../../projections/timeline.js';
import { laterAtPosition, type ChangeCursor } from './change-cursor.js';
import { ContentFingerprint, rowHash } from './fingerprint.js';
import { FingerprintHistory, type Fingerprint } from './fingerprint-history.js';
import { CHANGE_COLUMNS, changeOfRow, changeRowHash, contentRows, countryRowHash, dumpContent, type ChangeRow, type ContentDump, type ContentRow, type CountryRow } from './rows.js';
import { NOTHING, Residents, type Resident } from './residents.js';
import { READ_MODEL_MIGRATIONS, READ_MODEL_SCHEMA } from './schema.js';

export interface Checkpoint {
  position: number;
  today: string | null;
}

export type { Fingerprint } from './fingerprint-history.js';

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
  /**
   * How many statements, over all countries, the projections keep in memory (those
   * that count, in the compact form the rules read); past it, the countries used
   * least recently are dropped after a batch and loaded again from the rows when
   * next needed.
   */
  residentStatements?: number;
  /** How many statements, over all countries, answers keep as full records (at least one country's). */
  answerStatements?: number;
  /**
   * Statements effective this many days before today or later are kept in memory; a
   * revision that reaches back further reads the older ones from their rows.
   */
  statementDays?: number;
}

const NOTHING_TEXT = JSON.stringify(NOTHING);

/** Whether two positions are the same in every field, so the stored text of one is the other's. */
function sameState(a: PositionState, b: PositionState): boolean {
  if (a.status !== b.status || a.underReview !== b.underReview || a.endorsesLifting !== b.endorsesLifting || a.decidingStatementId !== b.decidingStatementId) return false;
  // Scopes are compared as objects: equal ones are mostly the same object (shared), and a miss only costs a serialisation.
  if (a.scope !== b.scope || a.weapons.length !== b.weapons.length) return false;
  if (a.confidence !== b.confidence && (!a.confidence || !b.confidence || a.confidence.attribution !== b.confidence.attribution || a.confidence.sources !== b.confidence.sources)) return false;
  for (let i = 0; i < a.weapons.length; i++) {
    const x = a.weapons[i];
    const y = b.weapons[i];
    if (x.system !== y.system || x.status !== y.status || x.statementId !== y.statementId) return false;
  }
  return true;
}

export class ReadModel {
  private readonly db: Database.Database;
  /** The projections' state of the countries in memory; the rest are loaded from the rows when needed. */
  private readonly residents: Residents;
  /** Full records of the countries answers asked for recently, most recent last; kept current by apply. */
  private readonly answers = new Map<string, CountryRecord>();
  private readonly answerLimit: number;
  private fingerprint: ContentFingerprint;
  private readonly fingerprints: FingerprintHistory;
  /** Emits 'applied' (checkpoint position) and 'changes' (Change[]) after each commit. */
  readonly events: EventEmitter;
  readonly version: string;
  private readonly sql;
  /** Runs the work it is given in a transaction: made once, as wrapping a function anew costs about 4 us a write. */
  private readonly transaction: Database.Transaction<(work: () => unknown) => unknown>;

  constructor(readonly file: string, options: ReadModelOptions = {}) {
    this.db = new Database(file);
    if (options.scratch) {
      // A rollback still works (a batch that fails must leave no rows); a crash needs no recovery.
      this.db.pragma('journal_mode = MEMORY');
      this.db.pragma('synchronous = OFF');
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('cache_size = -8192');
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
    this.answerLimit = options.answerStatements ?? 100_000;
    this.residents = new Residents(this.db, { statements: options.residentStatements ?? 2_000_000, days: options.statementDays ?? 92 });
    this.sql = {
      checkpoint: this.db.prepare<[], Checkpoint>('SELECT position, today FROM checkpoint WHERE id = 1'),
      setCheckpoint: this.db.prepare<[number, string | null]>('UPDATE checkpoint SET position = ?, today = ? WHERE id = 1'),
      meta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      countryStatements: this.db.prepare<[string], { record: string }>('SELECT record FROM statements WHERE country = ? ORDER BY position'),
      countryRow: this.db.prepare<[string], CountryRow>('SELECT * FROM countries WHERE code = ?'),
      countryRows: this.db.prepare<[], CountryRow>('SELECT * FROM countries ORDER BY code'),
      begin: this.db.prepare('BEGIN'),
      commit: this.db.prepare('COMMIT'),
      changingBy: this.db.prepare<[string], { code: string }>('SELECT code FROM countries WHERE next_change IS NOT NULL AND next_change <= ? ORDER BY code'),
      insertStatement: this.db.prepare<[number, string, string, string, string]>(
        'INSERT INTO statements (position, statement_id, country, effective_at, record) VALUES (?, ?, ?, ?, ?) ON CONFLICT (statement_id) DO NOTHING',
      ),
      updateStatement: this.db.prepare<[string, string]>('UPDATE statements SET record = ? WHERE statement_id = ?'),
      statementRow: this.db.prepare<[string], { position: number; country: string; effective_at: string; record: string }>(
        'SELECT position, country, effective_at, record FROM statements WHERE statement_id = ?',
      ),
      setChangeData: this.db.prepare<[string, number]>('UPDATE changes SET data = ? WHERE seq = ?'),
      upsertCountry: this.db.prepare(
        `INSERT INTO countries (code, revision, position, current, since, statements, next_change)
         VALUES (@code, @revision, @position, @current, @since, @statements, @next_change)
         ON CONFLICT (code) DO UPDATE SET revision = excluded.revision, position = excluded.position, current = excluded.current,
           since = excluded.since, statements = excluded.statements, next_change = excluded.next_change`,
      ),
      insertChange: this.db.prepare<[string, string, string, number, string, string]>(
        'INSERT INTO changes (id, type, country, position, recorded_at, data) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      statementById: this.db.prepare<[string], { record: string }>('SELECT record FROM statements WHERE statement_id = ?'),
      changesAfter: this.db.prepare<[number, number], ChangeRow>(`SELECT ${CHANGE_COLUMNS} FROM changes WHERE position > ? ORDER BY seq LIMIT ?`),
      changesAtPosition: this.db.prepare<[number, number], ChangeRow>(`SELECT ${CHANGE_COLUMNS} FROM changes WHERE position = ? AND seq > ? ORDER BY seq`),
    };
    this.transaction = this.db.transaction((work: () => unknown) => work());
    if (!this.builtWith()) this.sql.setMeta.run('projection_version', this.version);
    this.fingerprints = new FingerprintHistory(this.db);
    this.fingerprint = ContentFingerprint.fromHex(this.fingerprints.at(Number.MAX_SAFE_INTEGER)?.fingerprint);
  }

  /**
   * The projection versions the read model in `file` was built with, read without
   * opening it for writing (opening a ReadModel creates and migrates its tables).
   */
  static builtWith(file: string): string | undefined {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'projection_version'").get()?.value;
    } catch {
      return undefined; // no meta table: nothing was ever built in it
    } finally {
      db.close();
    }
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
   * Applies a batch of events in one transaction, and returns (and emits) the
   * changes they caused, unless `changes` is false: then they are only stored.
   * Events at or before the checkpoint are skipped, which is what makes a
   * re-delivered batch harmless.
   * Statement and change rows are written as each event is applied; a country's
   * row once, at the end of the batch (or before a change of day reads the rows),
   * as it stands then; the fingerprint after every event in runs, at the end of
   * the batch. The fingerprint after each event counts each country's row as it
   * stood after that event.
   */
  apply(events: readonly StoredEvent[], options: { changes?: boolean } = {}): Change[] {
    // Unless someone takes them, the batch's changes are not kept once stored (a rebuild's, a replay's).
    const collect = options.changes ?? true;
    const emitted: Change[] = [];
    const position = this.write(() => {
      let { position, today } = this.checkpoint();
      const fingerprints = this.fingerprints.writer();
      for (const event of events) {
        if (event.position <= position) continue;
        const day = dayOf(event.recordedAt);
        if (today === null) today = day;
        if (day > today) {
          const changes = this.rollDays(today, day, position);
          if (collect) for (const change of changes) emitted.push(change);
          today = day;
        }
        const country = countryOfStream(event.streamId);
        if (country && isKnownEventType(event.type)) {
          const changes = this.applyToCountry(country, event, today);
          if (collect) for (const change of changes) emitted.push(change);
        }
        position = event.position;
        fingerprints.record(position, today, this.fingerprint.value);
      }
      fingerprints.flush();
      this.writeCountryRows();
      this.sql.setCheckpoint.run(position, today);
      return position;
    });
    this.events.emit('applied', position);
    if (emitted.length > 0) this.events.emit('changes', emitted);
    return emitted;
  }

  private applyToCountry(code: string, event: StoredEvent, today: string): Change[] {
    const resident = this.residents.get(code) ?? this.residents.add(code);
    const decoded = decodeEvent(event);
    const statementId = decoded.data.statementId;
    const currentBefore = resident.current;
    const currentBeforeText = resident.row?.current ?? NOTHING_TEXT;
    let revision: Revision | undefined;
    const took: { recorded?: StatementRecord; retracted?: boolean } = {};
    // Whether the statement's row holds what its statement.recorded change says (it does unless its id was taken).
    let recordedInRow = false;

    if (decoded.type === 'StatementRecorded') {
      // A statement id is recorded once; a second recording of it in the same country is ignored.
      if (!resident.takenOver.has(statementId)) {
        const record = recordOf(decoded, false); // stored, and read once for its compact form
        const stored = JSON.stringify(record);
        recordedInRow = this.sql.insertStatement.run(record.position, statementId, code, record.effectiveAt, stored).changes > 0;
        const taken = recordedInRow ? undefined : this.sql.statementRow.get(statementId)!;
        if (!taken || taken.country !== code) {
          if (taken) {
            this.takeOverRow(statementId, taken, stored);
            // Its row is not this country's: it cannot be read back, so everything stays in memory.
            resident.view.keepAll();
          }
          this.fingerprint.add(rowHash('statements', statementId, stored));
          resident.statements += 1;
          const statement = nowKnown(record);
          revision = resident.view.add(statement);
          if (revision) this.residents.held += 1;
          if (taken) resident.takenOver.set(statementId, revision ? statement : null);
          took.recorded = record;
        }
      }
    } else {
      // A retraction or a source changes the statement's row: the full record is read from it.
      const row = this.sql.statementRow.get(statementId);
      if (row && (row.country === code || resident.takenOver.has(statementId))) {
        const recordBefore = statementRecord(JSON.parse(row.record) as StatementRecord, false); // dates parsed when read: it is not derived over
        const countedBefore = counts(recordBefore, KNOWN_NOW);
        const record = evolveStatement(statementRecord(recordBefore, false), decoded);
        const stored = JSON.stringify(record);
        if (stored !== row.record) {
          this.sql.updateStatement.run(stored, statementId);
          this.fingerprint.remove(rowHash('statements', statementId, row.record));
          this.fingerprint.add(rowHash('statements', statementId, stored));
        }
        // In memory while it counts, if it is recent, and wherever a fold holds it.
        const taken = resident.takenOver.get(statementId);
        const copies = taken !== undefined ? new Set(taken ? [taken] : []) : resident.view.copiesOf(row.effective_at, row.position);
        for (const copy of copies) copy.follow(record);
        if (decoded.type === 'StatementRetracted' && record.retraction?.position === event.position) {
          took.retracted = true;
          const kept = taken !== undefined ? taken : resident.view.find(row.effective_at, row.position);
          if (kept) {
            revision = resident.view.remove(kept);
            this.residents.held -= 1;
            if (taken) resident.takenOver.set(statementId, null);
          } else if (countedBefore) revision = resident.view.removedOlder(nowKnown(recordBefore));
        }
      }
    }
    const answer = this.answers.get(code);
    if (answer) evolveCountry(answer, decoded);

    const current = resident.view.positionOn(today);
    const changes = changesOfEvent(
      decoded,
      code,
      took,
      today,
      { timeline: revision?.before ?? [], current: currentBefore },
      { timeline: revision?.after ?? [], current },
      revision?.from,
    );
    this.setRow(resident, decoded.streamRevision, event.position, current, today);
    for (const change of changes) {
      if (change.type === 'statement.recorded' && recordedInRow) this.insertChange(change, 'null');
      else if (change.type === 'position.changed') {
        // Both positions are the country row's text, before and after: no need to serialise them again.
        const text = `{"country":${JSON.stringify(code)},"at":${JSON.stringify(today)},"statementId":${JSON.stringify(statementId)},"previous":${currentBeforeText},"current":${resident.row!.current}}`;
        this.insertChange(change, text);
      } else this.insertChange(change);
    }
    return changes;
  }

  /** Moves "today" forward when no event does: statements that take effect on the new days change today's position. */
  advanceTo(day: string): Change[] {
    const emitted = this.write(() => {
      const { position, today } = this.checkpoint();
      if (today === null || day <= today) return [];
      const changes = this.rollDays(today, day, position);
      this.writeCountryRows();
      this.sql.setCheckpoint.run(position, day);
      // Recorded again at the same position: the later record is what holds after it.
      this.fingerprints.record(position, day, this.fingerprint.value);
      return changes;
    });
    if (emitted.length > 0) this.events.emit('changes', emitted);
    return emitted;
  }

  /**
   * Runs a write transaction; if it fails, in-memory state is dropped so it cannot run
   * ahead of the rows (it is loaded again from them). After a commit, countries used
   * least recently are dropped from memory if it holds more statements than it may.
   */
  private write<T>(work: () => T): T {
    const fingerprintBefore = this.fingerprint.value;
    this.lastCheckpoint = undefined; // inside the transaction, always from the rows
    let result: T;
    try {
      result = this.transaction.immediate(work) as T;
      this.lastCheckpoint = undefined;
    } catch (error) {
      this.fingerprint = new ContentFingerprint(fingerprintBefore);
      this.residents.clear();
      this.answers.clear();
      throw error;
    }
    this.residents.evict(this.checkpoint().today);
    return result;
  }

  private rollDays(fromDay: string, toDay: string, position: number): Change[] {
    const changes: Change[] = [];
    // Only countries with a statement taking effect by toDay are loaded; the rest cannot change. A
    // country's row in memory, not yet written, says when for it; the others' rows say so.
    const changing: string[] = [];
    for (const { code } of this.sql.changingBy.all(toDay)) if (!this.residents.peek(code)?.dirty) changing.push(code);
    for (const { dirty, row } of this.residents.values()) if (dirty && row?.next_change != null && row.next_change <= toDay) changing.push(row.code);
    changing.sort();
    for (const code of changing) {
      const resident = this.residents.get(code);
      if (!resident?.row) continue;
      const view = resident.view;
      changes.push(...dayChanges(code, view.intervals, fromDay, toDay, position, (day) => view.positionOn(day)));
      this.setRow(resident, resident.row.revision, resident.row.position, view.positionOn(toDay), toDay);
    }
    // Written day by day (then by country: the sort is stable), as rolling one day at a time writes
    // them: a roll over several days (after downtime, or a replay between sparse events) then orders
    // the feed as a service that rolled daily did, and a feed cursor (position@day) never passes a
    // day of one country before an earlier day of another.
    changes.sort((a, b) => (a.recordedAt < b.recordedAt ? -1 : a.recordedAt > b.recordedAt ? 1 : 0));
    for (const change of changes) this.insertChange(change);
    return changes;
  }

  /** Sets a country's row as it stands now, and its part of the fingerprint; the row is written by writeCountryRows. */
  private setRow(resident: Resident, revision: number, position: number, current: PositionState, today: string): void {
    const previous = resident.row;
    // Today's position is serialised again only when it changed.
    const same = previous !== undefined && sameState(resident.current, current);
    const row: CountryRow = {
      code: resident.code,
      revision,
      position,
      current: same ? previous.current : resident.positionWriter.text(current),
      since: resident.view.since(today),
      statements: resident.statements,
      next_change: resident.view.nextChangeAfter(today),
    };
    const hash = countryRowHash(row);
    if (previous) this.fingerprint.remove(resident.rowHash);
    this.fingerprint.add(hash);
    resident.row = row;
    resident.rowHash = hash;
    if (!same) resident.current = current;
    resident.dirty = true;
  }

  private writeCountryRows(): void {
    for (const resident of this.residents.values()) {
      if (!resident.dirty) continue;
      this.sql.upsertCountry.run(resident.row!);
      resident.dirty = false;
    }
  }

  /**
   * A statement id already on record for another country is recorded again: its
   * row takes the new record, as it always has. The change that recorded the
   * first one was stored to be read with that row: it gets its data written out.
   */
  private takeOverRow(statementId: string, before: { position: number; record: string }, stored: string): void {
    for (const change of this.sql.changesAtPosition.all(before.position, 0)) {
      if (change.type !== 'statement.recorded' || change.data !== 'null') continue;
      const data = JSON.stringify(changeOfRow(change).data);
      this.sql.setChangeData.run(data, change.seq);
      this.fingerprint.remove(changeRowHash(change.id, change.type, change.country, change.position, change.recorded_at, change.data));
      this.fingerprint.add(changeRowHash(change.id, change.type, change.country, change.position, change.recorded_at, data));
    }
    this.sql.updateStatement.run(stored, statementId);
    this.fingerprint.remove(rowHash('statements', statementId, before.record));
  }

  /** Stores a change, with its data as `data` says if given (its JSON, or `null` for a statement.recorded change read with its statement's row). */
  private insertChange(change: Change, data = JSON.stringify(change.data)): void {
    this.sql.insertChange.run(change.id, change.type, change.country, change.position, change.recordedAt, data);
    this.fingerprint.add(changeRowHash(change.id, change.type, change.country, change.position, change.recordedAt, data));
  }

  /**
   * A country's statements as full records, for answers: read from the rows, and
   * kept for the countries asked for most recently (and evolved with every event
   * applied to them).
   */
  country(code: string): CountryRecord | undefined {
    const cached = this.answers.get(code);
    if (cached) {
      this.answers.delete(code);
      this.answers.set(code, cached);
      return cached;
    }
    const row = this.sql.countryRow.get(code);
    if (!row) return undefined;
    const statements: StatementRecord[] = [];
    for (const { record } of this.sql.countryStatements.iterate(code)) statements.push(JSON.parse(record) as StatementRecord);
    const record = countryFrom(code, row.revision, statements);
    let held = record.statements.length;
    for (const other of this.answers.values()) held += other.statements.length;
    for (const [other, kept] of this.answers) {
      if (held <= this.answerLimit) break;
      this.answers.delete(other);
      held -= kept.statements.length;
    }
    this.answers.set(code, record);
    return record;
  }

  countrySummaries(): CountrySummary[] {
    return this.sql.countryRows.all().map((row) => ({
      code: row.code,
      revision: row.revision,
      position: row.position,
      current: JSON.parse(row.current) as PositionState,
      since: row.since,
      statements: row.statements,
    }));
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

  /**
   * Changes after a log position, or after a cursor (change-cursor.ts): then also the
   * changes stamped with its position on a later day. A page never splits the changes of
   * one position, so the cursor after its last change misses nothing.
   */
  changes(after: number | ChangeCursor, limit: number): Change[] {
    const cursor = typeof after === 'number' ? { position: after } : after;
    // The rest of the cursor's position comes first in feed order: a new day's changes there were
    // written before any event after it was applied.
    const rows = cursor.day === undefined ? [] : this.sql.changesAtPosition.all(cursor.position, 0).filter((row) => laterAtPosition(cursor, row.recorded_at));
    if (rows.length < limit) rows.push(...this.sql.changesAfter.all(cursor.position, limit - rows.length));
    if (rows.length >= limit) {
      const last = rows[rows.length - 1];
      rows.push(...this.sql.changesAtPosition.all(last.position, last.seq));
    }
    return rows.map(changeOfRow);
  }

  /** The content fingerprint after log position `position` (the latest when omitted). */
  fingerprintAt(position: number = Number.MAX_SAFE_INTEGER): Fingerprint {
    return this.fingerprints.at(position) ?? { position: 0, today: null, fingerprint: new ContentFingerprint().hex };
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

  /**
   * The fingerprint computed afresh from the rows as they are, trusting nothing
   * recorded: what an audit compares, since a row changed behind the service's
   * back leaves the recorded fingerprint as it was.
   */
  recomputeFingerprint(): string {
    const fingerprint = new ContentFingerprint();
    for (const row of contentRows(this.db)) fingerprint.add(row.hash());
    return fingerprint.hex;
  }

  /**
   * The read model's whole content in a canonical order, free of storage details
   * (no seq numbers): two read models built from the same log dump the same.
   */
  dump(): ReadModelDump {
    return { checkpoint: this.checkpoint(), ...dumpContent(this.db) };
  }

  /** Every row as (table, key, content), ordered by table then key: what the fingerprint sums over. */
  contentRows(): Generator<ContentRow> {
    return contentRows(this.db);
  }

  close(): void {
    this.db.close();
  }
}

export interface ReadModelDump extends ContentDump {
  checkpoint: Checkpoint;
}
