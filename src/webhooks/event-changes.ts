// Which changes belong to which log event, for replicas that share dispatch by
// log event (persistent-dispatch.ts). Changes of a new day carry the position
// of the last event before the day (they are derived from the clock, not from
// an event), so no event stands for them. Rule: they belong to the next event.
// The replica handed event Q also dispatches the new-day changes whose position
// is the event just before Q (its read model has made all of them by the time it
// applied Q: a day rolls before the first event of that day, and after Q
// new-day changes carry Q). Every replica computes the same split, because a
// new-day change is recognised by its id (derived from the day, country and
// position), so each change belongs to exactly one event. The cost: they wait
// for the next event of the service.
import { changeId } from '../../projections/changes.js';
import type { ChangeFeed, FeedChange } from './change-feed.js';

/** A change made by a new day rather than by the event whose position it carries (see changesOfDays). */
export function isNewDayChange(change: FeedChange): boolean {
  const at = (change.data as { at?: unknown }).at;
  return change.type === 'position.changed' && typeof at === 'string' && change.id === changeId('day', at, 'position.changed', change.country, change.position);
}

/** The changes that belong to log event `position`: its own, and the new-day changes of the event before it. */
export function changesOfEvent(feed: ChangeFeed, position: number): FeedChange[] {
  const before = feed.eventBefore(position);
  const newDay = before > 0 ? feed.at(before).filter(isNewDayChange) : [];
  return [...newDay, ...feed.at(position).filter((c) => !isNewDayChange(c))];
}
