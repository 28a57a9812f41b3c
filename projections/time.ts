// Valid time is a calendar day; knowledge time is an instant. These helpers
// keep the two from being mixed up.

/** A bare day means the start of that UTC day. */
export function instantOf(dayOrInstant: string): number {
  return Date.parse(dayOrInstant.length === 10 ? `${dayOrInstant}T00:00:00.000Z` : dayOrInstant);
}

/** The last instant a day or an instant can mean: a bare day, the end of that UTC day. */
export function lastInstantOf(dayOrInstant: string): number {
  return dayOrInstant.length === 10 ? Date.parse(`${dayOrInstant}T23:59:59.999Z`) : Date.parse(dayOrInstant);
}

/** `knownAt` given as a day means the end of that UTC day. */
export const knownAtInstant = lastInstantOf;

export function dayOf(instant: number | string): string {
  // An instant as toISOString writes it (as the store records them) starts with its UTC day.
  if (typeof instant === 'string' && instant.length === 24 && instant[23] === 'Z' && instant[10] === 'T' && instant.slice(11, 13) < '24') return instant.slice(0, 10);
  return dayOfDate(new Date(instant));
}

export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00.000Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return dayOfDate(date);
}

/** A date's UTC day as ISO 8601 writes it: beyond years 0000-9999 with a sign and six digits ("+010000-01-01"), not cut off at ten characters. */
function dayOfDate(date: Date): string {
  const iso = date.toISOString();
  return iso.slice(0, iso.indexOf('T'));
}

/** Before and after every valid day: a statement effective on any day counts on LAST_DAY. */
export const FIRST_DAY = '0000-01-01';
export const LAST_DAY = '9999-12-31';

/** Knowledge time with nothing hidden: every reported statement counts. */
export const KNOWN_NOW = Number.POSITIVE_INFINITY;
