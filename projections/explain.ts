// Why a position is what it is, in plain sentences with the quotes and their
// sources, ready to paste into an article. Pure: a derivation in, text out.
import type { Scope } from '../events/vocabulary.js';
import { recordAsKnown, type Derivation, type ExclusionReason } from './position.js';
import { dayOf } from './time.js';
import type { SourceRecord, StatementRecord } from './statement-record.js';

export interface Explanation {
  /** Plain text: one paragraph per idea. */
  text: string;
  /** The same in Markdown, with quotes set as block quotes. */
  markdown: string;
}

const STATUS_TEXT = {
  unknown: 'there is no permission or prohibition on record',
  prohibited: 'Ukraine may not use the weapons it supplied against targets on Russian territory',
  restricted: 'Ukraine may use the weapons it supplied against targets on Russian territory, within limits',
  unrestricted: 'Ukraine may use the weapons it supplied against targets on Russian territory, with no conditions on record',
} as const;

const ATTRIBUTION_TEXT = {
  official: 'on the record',
  'anonymous-official': 'through unnamed officials',
  'media-report': 'in a media report with no attributed speaker',
  'non-government': 'by someone outside the government',
} as const;

const REASON_TEXT: Record<ExclusionReason, string> = {
  older: 'a later statement decides',
  'weaker-attribution': 'a statement of the same day with stronger attribution decides',
  'recorded-earlier': 'a statement of the same day and attribution, recorded later, decides',
  retracted: 'it was retracted',
  superseded: 'a correction replaced it',
  'not-yet-reported': 'it had not been reported yet',
  'not-yet-effective': 'it had not taken effect yet',
  'non-government': 'it comes from outside the government and never decides',
  'not-status-bearing': 'it neither permits nor prohibits',
  'weapon-specific': 'it concerns named weapons only',
};

const SCOPE_TEXT: Array<[keyof Scope, string]> = [
  ['regions', 'where'],
  ['targets', 'against'],
  ['excludedTargets', 'not against'],
  ['purposes', 'for'],
  ['weapons', 'with'],
  ['excludedWeapons', 'not with'],
  ['conditions', 'on condition of'],
];

export function formatDay(day: string): string {
  return new Date(`${day.slice(0, 10)}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}

function speakerOf(s: StatementRecord): string {
  const { name, role } = s.speaker;
  if (name && role) return `${name} (${role})`;
  return name ?? role ?? 'an unnamed source';
}

function sourceOf(source: Omit<SourceRecord, 'position'>): string {
  return [source.publisher, `"${source.title}"`, formatDay(source.publishedAt)].filter(Boolean).join(', ');
}

export function describeScope(scope: Scope | null): string {
  if (!scope) return '';
  return SCOPE_TEXT.filter(([key]) => (scope[key]?.length ?? 0) > 0)
    .map(([key, lead]) => `${lead} ${scope[key]!.join('; ')}`)
    .join(', ');
}

export function explainPosition(
  countryName: string,
  derivation: Derivation,
  statements: readonly StatementRecord[],
  query: { at: string; knownAt: string; knownAtInstant: number },
): Explanation {
  // Each statement quoted as it was known then: no source published, or retraction reported, later.
  const asKnown = (s: StatementRecord) => recordAsKnown(s, query.knownAtInstant);
  const byId = new Map(statements.map((s) => [s.statementId, s]));
  // The day of knownAt in UTC, as every date in the answer (an instant may carry another offset).
  const asOf = `As of ${formatDay(query.at)}, as known on ${formatDay(dayOf(query.knownAtInstant))}`;
  const text: string[] = [];
  const markdown: string[] = [];
  const both = (line: string, md = line) => {
    text.push(line);
    markdown.push(md);
  };

  const limits = derivation.status === 'restricted' ? `: ${describeScope(derivation.scope)}` : '';
  both(`${asOf}, ${countryName}'s position is ${derivation.status}: ${STATUS_TEXT[derivation.status]}${limits}.`, `**${asOf}, ${countryName}'s position is ${derivation.status}**: ${STATUS_TEXT[derivation.status]}${limits}.`);

  const d = derivation.deciding && asKnown(derivation.deciding);
  if (d) {
    const [first, ...more] = d.sources;
    const corroboration = more.length > 0 ? ` It is also reported by ${more.map(sourceOf).join('; ')}.` : '';
    both(
      `This rests on a statement by ${speakerOf(d)}, made ${ATTRIBUTION_TEXT[d.speaker.attribution]}, effective ${formatDay(d.effectiveAt)}${d.datePrecision === 'day' ? '' : ` (${d.datePrecision} date)`}: "${first.quote}" (${sourceOf(first)}).${corroboration}`,
      `This rests on a statement by ${speakerOf(d)}, made ${ATTRIBUTION_TEXT[d.speaker.attribution]}, effective ${formatDay(d.effectiveAt)}${d.datePrecision === 'day' ? '' : ` (${d.datePrecision} date)`}:\n\n> ${first.quote}\n\n(${sourceOf(first)}).${corroboration}`,
    );
  }

  for (const weapon of derivation.weapons) {
    const s = asKnown(byId.get(weapon.statementId)!);
    both(
      `${weapon.system} is ${weapon.status}, per ${speakerOf(s)} (${formatDay(s.effectiveAt)}): "${s.sources[0].quote}" (${sourceOf(s.sources[0])}).`,
      `- **${weapon.system}** is ${weapon.status}, per ${speakerOf(s)} (${formatDay(s.effectiveAt)}): "${s.sources[0].quote}" (${sourceOf(s.sources[0])}).`,
    );
  }
  if (derivation.weapons.length > 0) both('Weapons not named follow the overall position.');
  if (derivation.underReview) both('The policy is under review: a statement since the deciding one says so.');
  if (derivation.endorsesLifting) both(`${countryName} has since voiced support for lifting restrictions in general, without a grant for its own weapons on record.`);

  if (derivation.notDeciding.length > 0) {
    const others = derivation.notDeciding.map(({ statementId, reason }) => {
      const s = byId.get(statementId)!;
      return `${speakerOf(s)}, ${formatDay(s.effectiveAt)} (${s.stance}): ${REASON_TEXT[reason]}`;
    });
    text.push(`Also on record, not deciding: ${others.join('; ')}.`);
    markdown.push(`Also on record, not deciding:\n\n${others.map((o) => `- ${o}`).join('\n')}`);
  }
  return { text: text.join('\n\n'), markdown: markdown.join('\n\n') };
}
