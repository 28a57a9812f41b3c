// Dates and the domain's words as a reader sees them. Valid time is a UTC day
// ("YYYY-MM-DD"); knowledge time given as a day means the end of that day.
import { h } from './dom.js';

export const DAY_MS = 86_400_000;

const dayFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const monthFormat = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const shortFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
const instantFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' });

/** Days since 1970-01-01 (UTC) for a "YYYY-MM-DD" day. */
export const dayNumber = (day) => Date.parse(`${day.slice(0, 10)}T00:00:00Z`) / DAY_MS;
export const dayOfNumber = (n) => new Date(Math.floor(n) * DAY_MS).toISOString().slice(0, 10);
export const todayUtc = () => new Date().toISOString().slice(0, 10);

/** A day, or an instant by its UTC day as the service counts days (23:30 on 1 June at UTC-2 is 2 June). */
export const formatDay = (day) => dayFormat.format(new Date(day.length === 10 ? `${day}T00:00:00Z` : day));
/**
 * When a statement took effect, as precisely as it is known and no more: "May 2024" for a month
 * (recorded on its first day), "around 30 May 2024" for an approximate day, as /explain writes it.
 */
export function formatEffective(statement) {
  if (statement.datePrecision === 'month') return monthFormat.format(new Date(`${statement.effectiveAt}T00:00:00Z`));
  return statement.datePrecision === 'approximate' ? `around ${formatDay(statement.effectiveAt)}` : formatDay(statement.effectiveAt);
}

/** The same after a verb: "on 30 May 2024", "in May 2024", "around 30 May 2024". */
export function whenEffective(statement) {
  const prefix = { day: 'on ', month: 'in ' }[statement.datePrecision] ?? '';
  return `${prefix}${formatEffective(statement)}`;
}
export const formatShortDay = (n) => shortFormat.format(new Date(n * DAY_MS));
export const yearOf = (n) => new Date(n * DAY_MS).getUTCFullYear();

/** A knowledge time for people: a day stays a day, an instant gets its time. */
export function formatKnownAt(knownAt) {
  return knownAt.length === 10 ? formatDay(knownAt) : instantFormat.format(new Date(knownAt));
}

/**
 * When an answer is as known, after "as known": "on 5 Jun 2024". A knownAt still to come is answered as known now, as the service answers it
 * (nothing is reported later than it is recorded): the words say so rather than name a day whose news
 * they cannot hold. A day is to come when it is after today, an instant when it is after now, as /explain says.
 */
export function knownOn(knownAt) {
  const toCome = knownAt.length === 10 ? knownAt > todayUtc() : Date.parse(knownAt) > Date.now();
  return toCome ? `on ${formatDay(todayUtc())} (${formatKnownAt(knownAt)} is still to come)` : `on ${formatKnownAt(knownAt)}`;
}

/** A real calendar day: "2024-02-31" parses (as 2 March), so the day must come back as written. */
export function isDay(value) {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(dayNumber(value)) && dayOfNumber(dayNumber(value)) === value;
}

export const STATUS_LABEL = {
  prohibited: 'Prohibited',
  restricted: 'Restricted',
  unrestricted: 'Unrestricted',
  unknown: 'Unknown',
};

export const STATUS_MEANING = {
  // After the country's name: the country allows, Ukraine uses, and "it" is the country.
  prohibited: 'does not allow Ukraine to use the weapons it supplied against targets in Russia',
  restricted: 'allows Ukraine to use the weapons it supplied against targets in Russia, within limits',
  unrestricted: 'allows Ukraine to use the weapons it supplied against targets in Russia, with no conditions on record',
  unknown: 'has no permission or prohibition on record for its weapons in general',
};

export const STANCE_LABEL = {
  permits: 'permits use',
  prohibits: 'prohibits use',
  reviewing: 'policy under review',
  endorses: 'supports lifting restrictions',
};

export const ATTRIBUTION_LABEL = {
  official: 'on the record',
  'anonymous-official': 'unnamed officials',
  'media-report': 'media report',
  'non-government': 'non-government, context only',
};

export const REASON_LABEL = {
  older: 'a later statement decides',
  'weaker-attribution': 'same day, weaker attribution',
  'recorded-earlier': 'same day and attribution, recorded earlier',
  retracted: 'retracted',
  superseded: 'replaced by a correction',
  'not-yet-reported': 'not reported yet at that time',
  'not-yet-effective': 'not in effect yet on that day',
  'non-government': 'non-government: context, never decides',
  'not-status-bearing': 'neither permits nor prohibits',
  'weapon-specific': 'about named weapons only',
};

export const SCOPE_LABEL = [
  ['regions', 'Where'],
  ['targets', 'Against'],
  ['excludedTargets', 'Not against'],
  ['purposes', 'For'],
  ['weapons', 'With'],
  ['excludedWeapons', 'Not with'],
  ['conditions', 'Conditions'],
];

export function speakerOf(statement) {
  const { name, role } = statement.speaker ?? {};
  if (name && role) return `${name}, ${role}`;
  return name ?? role ?? 'Unnamed source';
}

/**
 * Text from the API, in a <bdi>: a name or quote in Arabic or Hebrew is laid out
 * right to left, without reordering the English words and commas around it.
 */
export const isolated = (text) => h('bdi', {}, text);

/** The speaker as nodes, name and role each isolated: "<name>, <role>" as one string garbles an RTL name. */
export function speakerParts(statement) {
  const { name, role } = statement.speaker ?? {};
  if (name && role) return [isolated(name), ', ', isolated(role)];
  return name || role ? isolated(name ?? role) : 'Unnamed source';
}

/** "The Hill, 29 May 2024", or the date alone when there is no publisher; the title is shown beside it. As nodes, the publisher isolated. */
export function sourceLine(source) {
  return source.publisher ? [isolated(source.publisher), `, ${formatDay(source.publishedAt)}`] : formatDay(source.publishedAt);
}

/**
 * A retraction as a reader needs it: when it became known and why ("retracted on 3 Jun 2024: the outlet
 * withdrew its report"), since a retraction says the record was wrong. The reason is isolated, as text from the API.
 */
export function retractionParts(retraction, lead = 'retracted') {
  return [`${lead} on ${formatDay(retraction.reportedAt)}`, retraction.reason ? [': ', isolated(retraction.reason)] : ''];
}

/**
 * A scope's limits in one line, as nodes: "Where: … · For: counter-fire", each item isolated. `except` names
 * keys to leave out (a weapon's own status already says which weapons). Empty when there are none.
 */
export function limitParts(scope, except = []) {
  return SCOPE_LABEL.filter(([key]) => scope?.[key]?.length && !except.includes(key))
    .flatMap(([key, label], i) => [i ? ' · ' : '', h('strong', {}, `${label}: `), scope[key].flatMap((text, j) => [j ? '; ' : '', isolated(text)])]);
}

export function scopeIsEmpty(scope) {
  return !scope || SCOPE_LABEL.every(([key]) => !scope[key] || scope[key].length === 0);
}

/** A quote in quotation marks, unless the source already put it in them. */
export function quoted(text) {
  return /^["“‘']/.test(text) ? text : `“${text}”`;
}
