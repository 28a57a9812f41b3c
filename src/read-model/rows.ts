// The read model's rows as stored (schema.ts), and what the fingerprint and the audit
// see of each: its content as JSON built from the stored text, and its hash. A row is
// hashed whole, in one call: a call costs far more than the bytes it hashes.
import type Database from 'better-sqlite3';
import { summarise, type Change } from '../../projections/changes.js';
import type { PositionState } from '../../projections/position.js';
import type { StatementRecord } from '../../projections/statement-record.js';
import { rowHash } from './fingerprint.js';

export interface CountryRow {
  code: string;
  revision: number;
  position: number;
  current: string;
  since: string | null;
  statements: number;
  next_change: string | null;
}

/** A row of the change feed as stored; the webhook dispatcher reads the same table. */
export interface ChangeRow {
  seq: number;
  id: string;
  type: Change['type'];
  country: string;
  position: number;
  recorded_at: string;
  /** JSON; `null` for a statement.recorded change whose statement's row holds its data (`record`). */
  data: string;
  /** The record of the statement a statement.recorded change stored as `null` recorded (CHANGE_COLUMNS). */
  record?: string | null;
}

/**
 * The columns to read changes with: a statement.recorded change is stored
 * without its data, which is the statement as its row (keyed by the same log
 * position) records it, and is read with that record.
 */
export const CHANGE_COLUMNS = `changes.*, CASE WHEN changes.data = 'null' THEN (SELECT record FROM statements WHERE statements.position = changes.position) END AS record`;

export const countryRowHash = (row: CountryRow) => rowHash('countries', row.code, countryContent(row));

const countryContent = (row: Omit<CountryRow, 'code'>) =>
  `{"revision":${row.revision},"position":${row.position},"current":${row.current},"since":${JSON.stringify(row.since)},"statements":${row.statements},"nextChange":${JSON.stringify(row.next_change)}}`;

/** A change row's hash for the fingerprint (as stored: a statement.recorded change read with its statement's row has data `null`). */
export const changeRowHash = (id: string, type: string, country: string, position: number, recordedAt: string, data: string) =>
  rowHash('changes', id, changeContent(type, country, position, recordedAt, data));

const changeContent = (type: string, country: string, position: number, recordedAt: string, data: string) =>
  `{"type":${JSON.stringify(type)},"country":${JSON.stringify(country)},"position":${position},"recordedAt":${JSON.stringify(recordedAt)},"data":${data}}`;

/** A change as stored (read with CHANGE_COLUMNS). */
export function changeOfRow(r: ChangeRow): Change {
  const data = r.data === 'null' && r.record ? recordedData(r.country, JSON.parse(r.record) as StatementRecord) : (JSON.parse(r.data) as Record<string, unknown>);
  return { id: r.id, type: r.type, country: r.country, position: r.position, recordedAt: r.recorded_at, data };
}

/** A statement.recorded change's data: the statement as recorded, its sources those that came with it. */
function recordedData(country: string, statement: StatementRecord): Record<string, unknown> {
  return { country, statement: summarise({ ...statement, sources: statement.sources.filter((source) => source.position === statement.position) }) };
}

export interface ContentRow {
  table: 'statements' | 'countries' | 'changes';
  key: string;
  content: string;
  /** The row's part of the fingerprint. */
  hash: () => bigint;
}

/** Every row as (table, key, content), ordered by table then key: what the fingerprint sums over. */
export function* contentRows(db: Database.Database): Generator<ContentRow> {
  for (const r of db.prepare<[], { key: string; content: string }>('SELECT statement_id AS key, record AS content FROM statements ORDER BY statement_id').iterate()) {
    yield { table: 'statements', key: r.key, content: r.content, hash: () => rowHash('statements', r.key, r.content) };
  }
  for (const r of db.prepare<[], CountryRow>('SELECT * FROM countries ORDER BY code').iterate()) {
    yield { table: 'countries', key: r.code, content: countryContent(r), hash: () => countryRowHash(r) };
  }
  for (const r of db.prepare<[], ChangeRow>('SELECT * FROM changes ORDER BY id').iterate()) {
    // As stored: a statement.recorded change's data is its statement's row, compared and hashed as that row.
    const content = changeContent(r.type, r.country, r.position, r.recorded_at, r.data);
    yield { table: 'changes', key: r.id, content, hash: () => changeRowHash(r.id, r.type, r.country, r.position, r.recorded_at, r.data) };
  }
}

export interface ContentDump {
  statements: StatementRecord[];
  countries: Array<{ code: string; revision: number; position: number; current: PositionState; since: string | null; statements: number; next_change: string | null }>;
  changes: Array<Omit<ChangeRow, 'seq' | 'data' | 'record'> & { data: unknown }>;
}

/** Every row in a canonical order, free of storage details (no seq numbers): two read models built from the same log dump the same. */
export function dumpContent(db: Database.Database): ContentDump {
  return {
    statements: db
      .prepare<[], { record: string }>('SELECT record FROM statements ORDER BY statement_id')
      .all()
      .map((r) => JSON.parse(r.record) as StatementRecord),
    countries: db
      .prepare<[], CountryRow>('SELECT * FROM countries ORDER BY code')
      .all()
      .map((r) => ({ ...r, current: JSON.parse(r.current) as PositionState })),
    changes: db
      .prepare<[], ChangeRow>(`SELECT ${CHANGE_COLUMNS} FROM changes ORDER BY seq`)
      .all()
      .map((r) => ({ id: r.id, type: r.type, country: r.country, position: r.position, recorded_at: r.recorded_at, data: changeOfRow(r).data })),
  };
}
