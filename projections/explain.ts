// Why a position is what it is, in plain sentences with the quotes and their
// sources, ready to paste into an article. Pure: a derivation in, text out.
import type { Scope, Stance } from '../events/vocabulary.js';
import { recordAsKnown, type Derivation, type ExclusionReason, type WeaponStatus } from './position.js';
import { dayOf, instantOf } from './time.js';
import type { SourceRecord, StatementRecord } from './statement-record.js';

export interface Explanation {
  /** Plain text: one paragraph per idea. */
  text: string;
  /** The same in Markdown, with quotes set as block quotes. */
  markdown: string;
}

// The country is the subject, so "it" is the supplier, never Ukraine.
const USE = 'Ukraine to use the weapons it supplied against targets on Russian territory';
const STATUS_TEXT = {
  prohibited: `does not allow ${USE}`,
  restricted: `allows ${USE}, within limits`,
  unrestricted: `allows ${USE}, with no conditions on record`,
} as const;

/** What an unknown status means: with weapons named, only their own statuses are on record. */
const UNKNOWN_TEXT = {
  nothing: 'there is no permission or prohibition on record',
  weaponsOnly: 'there is no permission or prohibition on record for its weapons in general',
} as const;

const ATTRIBUTION_TEXT = {
  official: 'on the record',
  'anonymous-official': 'anonymously',
  'media-report': 'in a media report with no attributed speaker',
} as const;

/** Whose government a non-government speaker is outside of: Zelensky speaks about Belgium from outside Belgium's. */
const outsideGovernment = (country: string) => `outside ${possessive(country)} government`;

// Not yet reported has a list of its own (notDecidingParagraphs); outside government is said with the country's name.
const REASON_TEXT: Record<Exclude<ExclusionReason, 'non-government' | 'not-yet-reported'>, string> = {
  older: 'a later statement decides',
  'weaker-attribution': 'a statement of the same day with stronger attribution decides',
  'recorded-earlier': 'a statement of the same day and attribution, recorded later, decides',
  retracted: 'it was retracted',
  superseded: 'a correction replaced it',
  // As of a past day, of a statement in effect by now; one still to come is said to be due (whyNot).
  'not-yet-effective': 'it had not taken effect yet',
  'not-status-bearing': 'it neither permits nor prohibits',
  'weapon-specific': 'it concerns named weapons only',
};

/** What a statement says, in a list of statements: the stance as English words, not its code. */
const STANCE_TEXT: Record<Stance, string> = {
  permits: 'a permission',
  prohibits: 'a prohibition',
  reviewing: 'the policy under review',
  endorses: 'support for lifting restrictions',
};

// Each limit as the words that lead to its items: "in Russian territory across the border from
// Kharkiv oblast", "not against civilian targets or other targets". Items are free text, so
// conditions, which may be a whole clause ("in accordance with international law"), get a label.
const SCOPE_TEXT: Array<[keyof Scope, string]> = [
  ['regions', 'in'],
  ['targets', 'against'],
  ['excludedTargets', 'not against'],
  ['purposes', 'for'],
  ['weapons', 'with'],
  ['excludedWeapons', 'not with'],
];
const ANY_OF = new Intl.ListFormat('en-GB', { type: 'disjunction' });

/**
 * A prohibition's scope says where it applies ("The prohibition applies in Crimea"); what it
 * leaves out reads "except", since "not against" after "does not allow" would read as a double
 * negative.
 */
const PROHIBITION_LEADS: Partial<Record<keyof Scope, string>> = { excludedTargets: 'except against', excludedWeapons: 'except with' };

export interface ExplainQuery {
  at: string;
  knownAtInstant: number;
  /** knownAt was asked for as an instant, not a day or now: the text names its time. */
  knownAtIsInstant?: boolean;
  /** When the answer is given, epoch ms: a knownAt after it is answered as known now. */
  now: number;
}

/** "10:00", "10:00:30", "10:00:30.250": as precise as the instant asked for. */
function timeOfDay(instant: number): string {
  // From the end of the ISO string: years before 0 or after 9999 make its start longer.
  return new Date(instant).toISOString().slice(-13, -1).replace(/(:00)?\.000$/, '');
}

const DAY_IN_WORDS = { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' } as const;
const MONTH_IN_WORDS = { month: 'long', year: 'numeric', timeZone: 'UTC' } as const;

/**
 * A day, or an instant by its UTC day, in words: "30 May 2024". An instant is written by its
 * UTC day, as "as known on" is and as every answer counts days: a report at 23:30 at UTC-2 on
 * 30 May is of 31 May, the day from whose end on it is known.
 */
export function formatDay(dayOrInstant: string): string {
  return inWords(dayOrInstant.length === 10 ? dayOrInstant : dayOf(instantOf(dayOrInstant)), DAY_IN_WORDS);
}

/** A UTC day in words. ISO 8601's year 0000 is 1 BC, and English leaves the era out: before year 1 it is said. */
function inWords(day: string, format: Intl.DateTimeFormatOptions): string {
  const date = new Date(`${day}T00:00:00Z`);
  return date.toLocaleDateString('en-GB', date.getUTCFullYear() < 1 ? { ...format, era: 'short' } : format);
}

/** An effective date as precise as it is known: "30 May 2024", "May 2024", "around 30 May 2024". */
function formatEffective(s: StatementRecord): string {
  if (s.datePrecision === 'month') return inWords(s.effectiveAt, MONTH_IN_WORDS);
  return s.datePrecision === 'approximate' ? `around ${formatDay(s.effectiveAt)}` : formatDay(s.effectiveAt);
}

/** The same after a verb: "on 30 May 2024", "in May 2024", "around 30 May 2024". */
function whenEffective(s: StatementRecord): string {
  return `${{ day: 'on ', month: 'in ', approximate: '' }[s.datePrecision]}${formatEffective(s)}`;
}

// Country names (ISO 3166 English names) that English writes with "the": "the Netherlands'
// position", "The United Kingdom has since ...", "the Islamic Republic of Iran", not
// "Netherlands's position". Descriptive names (a republic, a kingdom, states, islands) take it.
const TAKES_THE = /\b(Republic|Federation|Kingdom|States|Islands|Emirates)\b|^(State of |Holy See$|Netherlands$|Philippines$|Bahamas$|Maldives$|Comoros$|Seychelles$|Gambia$)/;

/** A country's name as a sentence uses it: with "the" where English has it. */
export function countryInSentence(name: string): string {
  return TAKES_THE.test(name) ? `the ${name}` : name;
}

/** "the Netherlands'", "Germany's". */
function possessive(name: string): string {
  return name.endsWith('s') ? `${name}'` : `${name}'s`;
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * How a writer sets text from the record: as it is (plain text), or for Markdown
 * so that it shows as written. Anything a person typed (a name, a title, a scope
 * item, a quote) could otherwise become a heading, a list, a link or raw HTML in
 * the article it is pasted into.
 */
interface Writer {
  /** Text within a line. */
  inline(text: string): string;
  /** Set in bold where the format has it. */
  strong(text: string): string;
  /** A sentence ending in a colon, the quotation it leads to, every line of it, and its source. */
  cited(lead: string, quote: string, source: string): string;
  /** A lead and the items it introduces. */
  list(lead: string, items: string[]): string;
  /**
   * A source: its publisher, title and day, and its web address where it has one, linked
   * from the title where the format has links, else given after the source for the reader to follow.
   */
  source(publisher: string | undefined, title: string, day: string, url: string | undefined): string;
}

const PLAIN: Writer = {
  inline: (text) => text,
  strong: (text) => text,
  cited: (lead, quote, source) => `${lead} "${quote}" (${source}).`,
  list: (lead, items) => `${lead} ${items.join('; ')}.`,
  source: (publisher, title, day, url) => [publisher, `"${title}"`, day, url].filter(Boolean).join(', '),
};

// CommonMark: a backslash before ASCII punctuation shows it literally. These can open or
// close emphasis, code, links, images, HTML, tables, strikethrough or entities anywhere;
// the rest only at the start of a line (headings, lists, block quotes, thematic breaks).
const escapeInline = (text: string) => text.replace(/[\\`*_[\]<>~|&!]/g, '\\$&');
// A link's destination: every ASCII punctuation mark a renderer could read as the end of the link,
// an entity or a code span, backslash-escaped (CommonMark takes them back out, so the URL is unchanged).
const escapeDestination = (url: string) => url.replace(/[\\`*_[\]<>~|&!()]/g, '\\$&');
const escapeLineStart = (line: string) => line.replace(/^(\s*)([#>+=-]|\d+[.)])/, (_, space: string, lead: string) => `${space}${lead.replace(/[#>+=.)-]$/, '\\$&')}`);
/**
 * One line of a quote in a block quote. Its indentation is kept as no-break spaces: Markdown drops
 * spaces at the start of a line, and four of them would make the line code.
 */
function quoteLine(line: string): string {
  const [, indent, text] = /^([ \t]*)(.*)$/s.exec(line)!;
  if (!text.trim()) return '>';
  return `> ${indent.replace(/\t/g, '    ').replace(/ /g, '\u00a0')}${escapeLineStart(escapeInline(text.trimEnd()))}`;
}

const MARKDOWN: Writer = {
  // One line: a line break inside a name or a title would end the sentence it is in.
  inline: (text) => escapeLineStart(escapeInline(text.replace(/\s*\n\s*/g, ' '))),
  strong: (text) => `**${text}**`,
  // Every line of the quote in the block quote, each a paragraph of its own: sources write a paragraph
  // to a line (Kirby's two in the seeds), and lines joined by one line break render as one paragraph.
  cited: (lead, quote, source) => `${lead}\n\n${quote.split(/\r\n?|\n/).map(quoteLine).join('\n>\n')}\n\n(${source}).`,
  list: (lead, items) => `${lead}\n\n${items.map((item) => `- ${item}`).join('\n')}`,
  source: (publisher, title, day, url) => {
    const quotedTitle = url ? `"[${MARKDOWN.inline(title)}](${escapeDestination(url)})"` : `"${MARKDOWN.inline(title)}"`;
    return [publisher && MARKDOWN.inline(publisher), quotedTitle, day].filter(Boolean).join(', ');
  },
};

/** How the deciding statement was made. Non-government statements never decide, but the sentence still reads if one is asked for. */
function attributionText(s: StatementRecord, country: string): string {
  const { attribution } = s.speaker;
  return attribution === 'non-government' ? `by someone ${outsideGovernment(country)}` : ATTRIBUTION_TEXT[attribution];
}

/** Who spoke, when the record names no one: "an unnamed source" would make an official on the record sound anonymous. */
const NO_NAME = {
  official: 'an official',
  'anonymous-official': 'an unnamed official',
  'media-report': 'the reporting outlet',
  'non-government': 'an unnamed speaker',
} as const;

/** What the status means, the country its subject, with a restriction's limits or where a prohibition applies. */
function statusSentence(derivation: Derivation, country: string, w: Writer): string {
  const { status } = derivation;
  if (status === 'unknown') return UNKNOWN_TEXT[derivation.weapons.length > 0 ? 'weaponsOnly' : 'nothing'];
  const lead = `${country} ${STATUS_TEXT[status]}`;
  if (status === 'restricted') return `${lead}: ${describeScope(derivation.scope, w)}`;
  // A prohibition may have a scope too ("not for long-range strikes into Crimea").
  const applies = status === 'prohibited' ? describeScope(derivation.scope, w, PROHIBITION_LEADS) : '';
  return applies ? `${lead}. The prohibition applies ${applies}` : lead;
}

function speakerOf(s: StatementRecord, w: Writer): string {
  const { name, role } = s.speaker;
  if (name && role) return `${w.inline(name)} (${w.inline(role)})`;
  return name || role ? w.inline((name ?? role)!) : NO_NAME[s.speaker.attribution];
}

function sourceOf(source: Omit<SourceRecord, 'position'>, w: Writer): string {
  return w.source(source.publisher, source.title, formatDay(source.publishedAt), webAddress(source.url));
}

/**
 * A source's URL as a reader may follow it: http(s) only, never a javascript: or data: link, whatever a
 * record holds (the schema refuses them today; a reader pasting the text cannot know that). Normalised,
 * so it holds no space, line break, quote or angle bracket.
 */
function webAddress(url: string | undefined): string | undefined {
  if (!url || !URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
}

export function describeScope(scope: Scope | null, w: Writer = PLAIN, leads: Partial<Record<keyof Scope, string>> = {}): string {
  if (!scope) return '';
  const limits = SCOPE_TEXT.filter(([key]) => (scope[key]?.length ?? 0) > 0).map(([key, lead]) => `${leads[key] ?? lead} ${ANY_OF.format(scope[key]!.map(w.inline))}`);
  const conditions = scope.conditions ?? [];
  // Last, since its colon runs to the end of the sentence.
  if (conditions.length > 0) limits.push(`subject to ${conditions.length === 1 ? 'the condition' : 'the conditions'}: ${conditions.map(w.inline).join('; ')}`);
  return limits.join(', ');
}

/** Whether the position allows nothing: no general permission, and no named system permitted. */
function grantsNothing(derivation: Derivation): boolean {
  const allows = (status: string) => status === 'restricted' || status === 'unrestricted';
  return !allows(derivation.status) && !derivation.weapons.some((weapon) => allows(weapon.status));
}

/**
 * A named weapon's limits, which would otherwise be nowhere in the text: those of the statement naming it,
 * other than which weapons. A restricted weapon's say what it may be used for (" (in the Kharkiv border
 * area, for counter-fire)"); a prohibition's say where it applies (" (in Crimea)"), as the headline's do:
 * "ATACMS is prohibited" alone would read as a ban everywhere. A system a permission leaves out is
 * prohibited outright: the permission's limits are not its own.
 */
function weaponLimits(status: WeaponStatus['status'], s: StatementRecord, w: Writer): string {
  const scope = { ...s.scope, weapons: undefined, excludedWeapons: undefined };
  const limits = status === 'restricted' ? describeScope(scope, w) : status === 'prohibited' && s.stance === 'prohibits' ? describeScope(scope, w, PROHIBITION_LEADS) : '';
  return limits ? ` (${limits})` : '';
}

/** What the parts of one explanation share. */
interface Telling {
  w: Writer;
  /** The country as a sentence names it: "the Netherlands". */
  country: string;
  /** A statement as it was known then: no source published, or retraction reported, later. */
  asKnown(s: StatementRecord): StatementRecord;
  /** The quotes set so far: a quote can run to 5,000 characters, and is set once. */
  quoted: Set<string>;
  /** The statements already introduced with their role (a weapon's, a flag's): each is said once. */
  introduced: Set<string>;
  /** The day the answer is given, UTC: what is still to come is said in the future. */
  today: string;
}

/**
 * Who made a statement, how and when: "a statement by John Kirby (...), made on the record, effective
 * 29 May 2024". Every statement quoted is introduced so, so that a reader can weigh each the same way.
 */
function aStatementBy(s: StatementRecord, t: Telling, which = 'a statement'): string {
  return `${which} by ${speakerOf(s, t.w)}, made ${attributionText(s, t.country)}, effective ${formatEffective(s)}`;
}

/** A lead ending in a colon, and the words of a statement's first source as known then. */
function citeFirst(lead: string, s: StatementRecord, t: Telling): string {
  return cite(lead, s.sources[0], t);
}

/** A lead ending in a colon and a source's words; words already set above are referred to, not set again. */
function cite(lead: string, source: Omit<SourceRecord, 'position'>, t: Telling): string {
  if (t.quoted.has(source.quote)) return `${lead.replace(/:$/, '')}, in the words quoted above (${sourceOf(source, t.w)}).`;
  t.quoted.add(source.quote);
  return t.w.cited(lead, source.quote, sourceOf(source, t.w));
}

/**
 * A named weapon's status and the statement that decides it. One the deciding statement
 * excludes points back to it: its quote is already there, in full.
 */
function weaponParagraph(weapon: WeaponStatus, s: StatementRecord, decidingId: string | null, t: Telling): string {
  const { w } = t;
  t.introduced.add(s.statementId);
  const named = `${w.strong(w.inline(weapon.system))} is ${weapon.status}`;
  if (weapon.statementId === decidingId) return `${named}: the deciding statement, quoted above, excludes it.`;
  return citeFirst(`${named}${weaponLimits(weapon.status, s, w)}, per ${speakerOf(s, w)}, effective ${formatEffective(s)}:`, s, t);
}

/**
 * The flags, each with the statement that raises it (the derivation's own choice), quoted as the
 * deciding statement is: "under review" or "voiced support" with no speaker cannot be checked or cited.
 */
function flagParagraphs(derivation: Derivation, t: Telling): string[] {
  const paragraphs: string[] = [];
  const decided = derivation.deciding !== null;
  if (derivation.underReviewBy) {
    const r = t.asKnown(derivation.underReviewBy);
    t.introduced.add(r.statementId);
    // "Later" than the deciding statement: the flag is raised only by a statement newer than it.
    paragraphs.push(citeFirst(`The policy is under review, according to ${aStatementBy(r, t, decided ? 'a later statement' : 'a statement')}:`, r, t));
  }
  if (derivation.endorsesLiftingBy) {
    const e = t.asKnown(derivation.endorsesLiftingBy);
    t.introduced.add(e.statementId);
    // What the stance means, "no grant on record", only while that is so: after a permission it would contradict the sentences above.
    const noGrant = grantsNothing(derivation) ? ', without a grant for its own weapons on record' : '';
    const lead = `${capitalised(t.country)} has ${decided ? 'since ' : ''}voiced support for lifting restrictions in general${noGrant}, according to ${aStatementBy(e, t)}:`;
    paragraphs.push(citeFirst(lead, e, t));
  }
  return paragraphs;
}

/** Why a statement counted as known then did not decide. */
function whyNot(s: StatementRecord, reason: Exclude<ExclusionReason, 'not-yet-reported'>, t: Telling): string {
  if (reason === 'non-government') return `it comes from ${outsideGovernment(t.country)} and never decides`;
  // Still to come, it is due, whatever day was asked about: "had not taken effect yet" would say it since has.
  if (reason === 'not-yet-effective' && s.effectiveAt > t.today) return `it is due to take effect ${whenEffective(s)}`;
  // A retraction says the record was wrong: when that became known and why is part of the evidence.
  const retraction = reason === 'retracted' ? t.asKnown(s).retraction : undefined;
  return retraction ? `${REASON_TEXT.retracted} on ${formatDay(retraction.reportedAt)} (${t.w.inline(retraction.reason)})` : REASON_TEXT[reason];
}

/**
 * The statements that did not decide, by the day each took effect, as a reader follows a story (the basis
 * lists them in log order). Those reported only after knownAt get a list of their own, last: "on record"
 * and "not reported yet" in one list read as if the record had known them then. One already quoted for a
 * weapon or a flag is not listed again: "it neither permits nor prohibits" under the statement that raises
 * "under review" would read as if it counted for nothing, and the paragraph above says what it does.
 */
function notDecidingParagraphs(derivation: Derivation, byId: ReadonlyMap<string, StatementRecord>, knownAt: string, t: Telling): string[] {
  const listed = derivation.notDeciding
    .filter(({ statementId }) => !t.introduced.has(statementId))
    .map(({ statementId, reason }) => ({ s: byId.get(statementId)!, reason }))
    .sort((a, b) => a.s.effectiveAt.localeCompare(b.s.effectiveAt) || a.s.position - b.s.position);
  const item = (s: StatementRecord) => `${speakerOf(s, t.w)}, ${formatEffective(s)} (${STANCE_TEXT[s.stance]})`;
  const onRecord: string[] = [];
  const later: string[] = [];
  for (const { s, reason } of listed) {
    if (reason === 'not-yet-reported') later.push(item(s));
    else onRecord.push(`${item(s)}: ${whyNot(s, reason, t)}`);
  }
  return [
    ...(onRecord.length > 0 ? [t.w.list('Also on record, not deciding:', onRecord)] : []),
    ...(later.length > 0 ? [t.w.list(`Reported only after ${knownAt}, so not counted here:`, later)] : []),
  ];
}

/**
 * knownAt in words: its UTC day, as every date in the answer (an instant may carry another offset),
 * with its time when one was asked for, since two instants of a day can give different answers.
 */
function knownAtInWords(query: ExplainQuery): string {
  const day = inWords(dayOf(query.knownAtInstant), DAY_IN_WORDS);
  return query.knownAtIsInstant ? `${timeOfDay(query.knownAtInstant)} UTC on ${day}` : day;
}

/**
 * When the answer is as known: "on 29 May 2024", "at 10:00 UTC on 29 May 2024". A knownAt still to come is
 * answered as known now, as /position answers it (nothing is reported later than it is recorded), and the
 * text says so rather than name a day whose news it cannot hold. A day is to come when it is after today:
 * today's end is to come, but as known on today is what an answer with no knownAt says.
 */
function asKnownWhen(query: ExplainQuery): string {
  const toCome = query.knownAtIsInstant ? query.knownAtInstant > query.now : dayOf(query.knownAtInstant) > dayOf(query.now);
  if (toCome) return `on ${inWords(dayOf(query.now), DAY_IN_WORDS)} (${knownAtInWords(query)} is still to come)`;
  return `${query.knownAtIsInstant ? 'at' : 'on'} ${knownAtInWords(query)}`;
}

/** One explanation, written with `w`: the same sentences for plain text and Markdown. */
function explainWith(
  w: Writer,
  countryName: string,
  derivation: Derivation,
  statements: readonly StatementRecord[],
  query: ExplainQuery,
): string {
  const asKnown = (s: StatementRecord) => recordAsKnown(s, query.knownAtInstant);
  const byId = new Map(statements.map((s) => [s.statementId, s]));
  const asOf = `As of ${formatDay(query.at)}, as known ${asKnownWhen(query)}`;
  const country = countryInSentence(countryName);
  const t: Telling = { w, country, asKnown, quoted: new Set(), introduced: new Set(), today: dayOf(query.now) };
  const paragraphs: string[] = [];

  paragraphs.push(`${w.strong(`${asOf}, ${possessive(country)} position is ${derivation.status}`)}: ${statusSentence(derivation, country, w)}.`);

  const d = derivation.deciding && asKnown(derivation.deciding);
  if (d) {
    paragraphs.push(citeFirst(`This rests on ${aStatementBy(d, t)}:`, d, t));
    // Every source's own words: a later report may carry the statement more plainly than the first.
    for (const source of d.sources.slice(1)) {
      paragraphs.push(t.quoted.has(source.quote) ? `Also reported in the same words (${sourceOf(source, w)}).` : cite('Also reported:', source, t));
    }
  }

  for (const weapon of derivation.weapons) paragraphs.push(weaponParagraph(weapon, asKnown(byId.get(weapon.statementId)!), derivation.decidingStatementId, t));
  if (derivation.weapons.length > 0) {
    paragraphs.push(derivation.status === 'unknown' ? 'Weapons not named have no permission or prohibition on record.' : 'Weapons not named follow the overall position.');
  }
  paragraphs.push(...flagParagraphs(derivation, t));

  paragraphs.push(...notDecidingParagraphs(derivation, byId, knownAtInWords(query), t));
  return paragraphs.join('\n\n');
}

export function explainPosition(
  countryName: string,
  derivation: Derivation,
  statements: readonly StatementRecord[],
  query: ExplainQuery,
): Explanation {
  return {
    text: explainWith(PLAIN, countryName, derivation, statements, query),
    markdown: explainWith(MARKDOWN, countryName, derivation, statements, query),
  };
}
