// Where a reader of the change feed stands. Changes are stamped with a log
// position, but the changes of a new day carry the position of the last event
// applied before the day began, so they come after changes already read at that
// position. A position alone would miss them; a cursor adds the UTC day its
// reader has read that position through. Nothing is ever stamped with a
// position on a day earlier than what is already stamped with it (a day's
// changes are made after every event before it), so (position, day) orders the
// feed as it was written, the same way in every replica and every rebuild.
import { dayOf } from '../../projections/time.js';

export interface ChangeCursor {
  position: number;
  /** Through the changes stamped with `position` on this UTC day or before; all of them if absent. */
  day?: string;
}

export const CHANGE_CURSOR = /^(\d{1,15})(?:@(\d{4}-\d{2}-\d{2}))?$/;

/** The cursor after a change, for a page or a stream that ends with it and every change of its position and day. */
export const cursorOf = (change: { position: number; recordedAt: string }): ChangeCursor => ({ position: change.position, day: dayOf(change.recordedAt) });

/** The same, as text: `<position>@<day>`. */
export const cursorAfter = (change: { position: number; recordedAt: string }): string => formatCursor(cursorOf(change));

export function parseCursor(text: string): ChangeCursor | undefined {
  const match = CHANGE_CURSOR.exec(text);
  if (!match) return undefined;
  return match[2] === undefined ? { position: Number(match[1]) } : { position: Number(match[1]), day: match[2] };
}

export const formatCursor = (cursor: ChangeCursor): string => (cursor.day === undefined ? String(cursor.position) : `${cursor.position}@${cursor.day}`);

/** Whether a change stamped with the cursor's own position comes after it: made on a later day. */
export const laterAtPosition = (cursor: ChangeCursor, recordedAt: string): boolean => cursor.day !== undefined && dayOf(recordedAt) > cursor.day;

/** Whether two changes in feed order are of the same position and day, so a reader never stops between them. */
export const sameGroup = (a: { position: number; recordedAt: string }, b: { position: number; recordedAt: string }): boolean =>
  a.position === b.position && dayOf(a.recordedAt) === dayOf(b.recordedAt);
