// A readable diff between two read models: walks both in key order (so memory
// stays flat however big they are) and, for each row that differs, names the
// fields that differ with both values.
import diff from 'microdiff';
import type { ReadModel } from '../read-model/read-model.js';
import type { ContentRow } from '../read-model/rows.js';

const MAX_LINES = 1_000;
const TABLE_ORDER = { statements: 0, countries: 1, changes: 2 } as const;

function compareRows(a: ContentRow, b: ContentRow): number {
  const byTable = TABLE_ORDER[a.table] - TABLE_ORDER[b.table];
  if (byTable !== 0) return byTable;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

const show = (value: unknown) => {
  const text = JSON.stringify(value);
  return text === undefined ? 'nothing' : text.length > 200 ? `${text.slice(0, 200)}…` : text;
};

/**
 * Each field that differs between a live and a replayed object, as "<where> <field>: live has …,
 * replay has …". `hidden` says which fields are named but not shown (sealed secrets).
 */
export function describeDifferences(where: string, live: object, replay: object, hidden: (path: readonly (string | number)[]) => boolean = () => false): string[] {
  return diff(live as Record<string, unknown>, replay as Record<string, unknown>).map((d) => {
    const field = d.path.join('.');
    const at = `${where}${field ? ` ${field}` : ''}`;
    const value = (v: unknown) => (hidden(d.path) ? '(a sealed secret)' : show(v));
    if (d.type === 'CREATE') return `${at}: live has nothing, replay has ${value(d.value)}`;
    if (d.type === 'REMOVE') return `${at}: live has ${value(d.oldValue)}, replay has nothing`;
    return `${at}: live has ${value(d.oldValue)}, replay has ${value(d.value)}`;
  });
}

function rowDifferences(live: ContentRow, replay: ContentRow): string[] {
  const fields = fieldDifferences(live, replay);
  return fields.length > 0 ? fields : [`${live.table}/${live.key}: the same fields, stored differently`];
}

function fieldDifferences(live: ContentRow, replay: ContentRow): string[] {
  return describeDifferences(`${live.table}/${live.key}`, JSON.parse(live.content), JSON.parse(replay.content));
}

export function diffReadModels(live: ReadModel, replay: ReadModel): string[] {
  const lines: string[] = [];
  let more = 0;
  const add = (entries: string[]) => {
    for (const entry of entries) {
      if (lines.length < MAX_LINES) lines.push(entry);
      else more += 1;
    }
  };
  const left = live.contentRows();
  const right = replay.contentRows();
  let a = left.next();
  let b = right.next();
  while (!a.done || !b.done) {
    const order = a.done ? 1 : b.done ? -1 : compareRows(a.value, b.value);
    if (order < 0) {
      add([`${a.value!.table}/${a.value!.key}: only in the live read model`]);
      a = left.next();
    } else if (order > 0) {
      add([`${b.value!.table}/${b.value!.key}: only in the replay`]);
      b = right.next();
    } else {
      if (a.value!.content !== b.value!.content) add(rowDifferences(a.value!, b.value!));
      a = left.next();
      b = right.next();
    }
  }
  if (more > 0) lines.push(`… and ${more} more differences`);
  return lines;
}
