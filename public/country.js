// The country view: the position as of a day, as known at a time, with its
// limits, per-weapon statuses, the explanation and the evidence.
import { h, safeUrl } from './dom.js';
import {
  ATTRIBUTION_LABEL, formatDay, formatEffective, formatKnownAt, isolated, knownOn, quoted, limitParts, REASON_LABEL, retractionParts, SCOPE_LABEL, scopeIsEmpty, sourceLine, speakerOf, speakerParts, STANCE_LABEL,
  STATUS_LABEL, STATUS_MEANING, whenEffective,
} from './words.js';

/** The explanation from the position's basis, for when the service has no explain endpoint. */
export function explainFromBasis(position, statementsById) {
  const name = position.name ?? position.country;
  const paragraphs = [
    `As of ${formatDay(position.at)}, as known ${knownOn(position.knownAt)}, ${name} ${STATUS_MEANING[position.status]}.`,
  ];
  const d = position.deciding;
  if (d) {
    const limits = scopeIsEmpty(d.scope)
      ? 'with no limits'
      : `with these limits: ${SCOPE_LABEL.filter(([key]) => d.scope[key]?.length).map(([key, label]) => `${label.toLowerCase()} ${d.scope[key].join(', ')}`).join('; ')}`;
    paragraphs.push(
      `This follows from the latest general statement in effect: ${speakerOf(d)} (${ATTRIBUTION_LABEL[d.speaker.attribution]}) ${STANCE_LABEL[d.stance]} ${limits}. ` +
        `It took effect ${whenEffective(d)} and was first reported on ${formatDay(d.reportedAt)}, ` +
        `backed by ${d.sources.length} source${d.sources.length === 1 ? '' : 's'}.`,
    );
  } else {
    paragraphs.push('No statement that permits or prohibits use of all the weapons it supplied was on record.');
  }
  for (const w of position.weapons) {
    const by = statementsById.get(w.statementId);
    paragraphs.push(`${w.system} is ${STATUS_LABEL[w.status].toLowerCase()}${by ? `, decided by ${speakerOf(by)} (effective ${formatEffective(by)})` : ''}. Weapons never named follow the headline status.`);
  }
  // Who raised each flag (the service names the statement), when the page has it: "a statement" alone cannot be checked or cited.
  const flagged = (statementId) => {
    const by = statementId ? statementsById.get(statementId) : undefined;
    // "Later" than the deciding statement, when there is one.
    const which = d ? 'A later statement' : 'A statement on record';
    return by ? `${which}, by ${speakerOf(by)} (${ATTRIBUTION_LABEL[by.speaker.attribution]}), effective ${formatEffective(by)},` : which;
  };
  if (position.underReview) paragraphs.push(`${flagged(position.basis.underReviewStatementId)} says the policy is under review; the position itself has not changed.`);
  if (position.endorsesLifting) {
    // "No grant" only while nothing is permitted, in general or for a named system: else it contradicts the lines above.
    const allows = (status) => status === 'restricted' || status === 'unrestricted';
    const noGrant = allows(position.status) || position.weapons.some((w) => allows(w.status)) ? '' : ', with no grant for its own weapons on record';
    paragraphs.push(`${flagged(position.basis.endorsesLiftingStatementId)} supports lifting restrictions in general${noGrant}.`);
  }
  // Those reported only after knownAt apart: counted with the rest, they read as on record then. Those named
  // above for a weapon or a flag are not counted again, as /explain does not list them again.
  const namedAbove = rolesOf(position);
  const others = position.basis.others.filter((o) => o.reason !== 'not-yet-reported' && !namedAbove.has(o.statementId));
  const later = position.basis.others.filter((o) => o.reason === 'not-yet-reported').length;
  if (others.length) {
    const counts = new Map();
    for (const o of others) counts.set(o.reason, (counts.get(o.reason) ?? 0) + 1);
    paragraphs.push(`${others.length} other statement${others.length === 1 ? '' : 's'} did not decide: ${[...counts].map(([reason, n]) => `${n} ${REASON_LABEL[reason]}`).join('; ')}.`);
  }
  if (later) paragraphs.push(`${later} statement${later === 1 ? ' was' : 's were'} reported only after ${formatKnownAt(position.knownAt)}, so not counted here.`);
  return paragraphs;
}

/** Letters of right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko...). */
const RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;

/**
 * An explanation paragraph (the service's text, or ours) with each right-to-left
 * name, role, limit, title or quote from the statements in it isolated, so that
 * "<Hebrew name>, Minister of Defence (on the record)" keeps its order.
 */
function withIsolates(text, statements) {
  const pieces = statements.flatMap((s) => [
    s.speaker?.name, s.speaker?.role, ...Object.values(s.scope ?? {}).flat(), ...s.sources.flatMap((source) => [source.title, source.publisher, source.quote]),
  ]);
  const found = [...new Set(pieces)].filter((piece) => typeof piece === 'string' && RTL.test(piece) && text.includes(piece));
  if (!found.length) return text;
  const pattern = new RegExp(`(${found.sort((a, b) => b.length - a.length).map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`);
  // split() with a capturing group: the pieces are at the odd places.
  return text.split(pattern).map((part, i) => (i % 2 ? isolated(part) : part));
}

function scopeList(scope) {
  if (scopeIsEmpty(scope)) return h('p', {}, 'No limits on record.');
  return h('dl', { class: 'scope' }, SCOPE_LABEL.filter(([key]) => scope[key]?.length).map(([key, label]) => [
    h('dt', {}, label),
    h('dd', {}, scope[key].flatMap((text, i) => [i ? '; ' : '', isolated(text)])),
  ]));
}

function sourceBlock(source) {
  const href = source.url ? safeUrl(source.url) : undefined;
  return h('figure', { class: 'evidence' },
    // dir="auto": a quote in Arabic or Hebrew runs right to left; the title and publisher are isolated from the English around them.
    h('blockquote', { dir: 'auto' }, quoted(source.quote)),
    h('figcaption', {}, href ? h('a', { href, rel: 'noopener noreferrer external' }, isolated(source.title)) : h('cite', {}, isolated(source.title)), ' — ', sourceLine(source)));
}

function statementDetails(statement) {
  return [
    h('p', { class: 'speaker' }, h('strong', {}, speakerParts(statement)), ` · ${ATTRIBUTION_LABEL[statement.speaker.attribution]}`),
    h('p', { class: 'meta' },
      `${STANCE_LABEL[statement.stance]} · effective ${formatEffective(statement)} · reported ${formatDay(statement.reportedAt)}`),
    statement.sources.map(sourceBlock),
    statement.notes ? h('details', { class: 'notes' }, h('summary', {}, 'Editor’s note on this record'), h('p', { dir: 'auto' }, statement.notes)) : null,
  ];
}

/**
 * A named weapon's limits, as /explain gives them: those of the statement naming it, other than which weapons.
 * A restricted weapon's say what it may be used for, a prohibition's where it applies ("Prohibited" alone reads
 * as everywhere). A system a permission leaves out is prohibited outright: the permission's limits are not its own.
 */
function weaponLimits(weapon, by) {
  if (!by || !(weapon.status === 'restricted' || (weapon.status === 'prohibited' && by.stance === 'prohibits'))) return null;
  const limits = limitParts(by.scope, ['weapons', 'excludedWeapons']);
  return limits.length ? h('span', { class: 'weapon-limits' }, limits) : null;
}

/**
 * What each statement the position names besides the deciding one does: decide a weapon, raise a flag.
 * "About named weapons only" or "neither permits nor prohibits" alone, beside the statement that decides
 * ATACMS or raises "under review", would read as if it counted for nothing.
 */
function rolesOf(position) {
  const roles = new Map();
  const add = (statementId, role) => statementId && roles.set(statementId, [...(roles.get(statementId) ?? []), role]);
  for (const w of position.weapons) add(w.statementId, `decides ${w.system}`);
  add(position.basis.underReviewStatementId, 'raises “under review”');
  add(position.basis.endorsesLiftingStatementId, 'raises “endorses lifting restrictions”');
  return roles;
}

/** Why a statement in the basis did not decide, and what it does instead; a retraction with its day and reason (the history has them, as known then). */
function whyNot(other, roles) {
  const retraction = other.reason === 'retracted' ? other.statement?.retraction : undefined;
  if (retraction) return retractionParts(retraction);
  const why = REASON_LABEL[other.reason] ?? other.reason;
  const role = roles.get(other.statementId);
  return role ? `${why}; it ${role.join(' and ')}` : why;
}

/**
 * Renders a country into `section`. data: {position, explanation: {paragraphs, fromService},
 * statementsById, permalink}.
 */
export function renderCountry(section, { position, explanation, statementsById, permalink }) {
  const name = position.name ?? position.country;
  const roles = rolesOf(position);
  const others = position.basis.others
    .map((o) => ({ ...o, statement: statementsById.get(o.statementId) }))
    .sort((a, b) => a.effectiveAt.localeCompare(b.effectiveAt));
  // A long explanation keeps its first paragraphs in view and folds the rest.
  const statements = [...statementsById.values(), ...(position.deciding ? [position.deciding] : [])];
  const paragraph = (text) => h('p', {}, withIsolates(text, statements));
  const shown = explanation.paragraphs.slice(0, 3);
  const folded = explanation.paragraphs.slice(3);
  section.replaceChildren(
    h('div', { class: 'country-head' },
      h('h2', { id: 'country-heading' }, name, ' ', h('span', { class: 'code' }, position.country)),
      h('a', { class: 'permalink', href: permalink, id: 'permalink' }, 'Link to this view')),
    h('p', { class: 'position-line', 'data-status': position.status },
      h('span', { class: `chip chip-${position.status} big` }, STATUS_LABEL[position.status]),
      ` as of ${formatDay(position.at)}, as known ${knownOn(position.knownAt)}`,
      position.confidence ? ` · confidence: ${ATTRIBUTION_LABEL[position.confidence.attribution]}, ${position.confidence.sources} source${position.confidence.sources === 1 ? '' : 's'}` : '',
      position.underReview ? h('span', { class: 'flag' }, 'under review') : null,
      position.endorsesLifting ? h('span', { class: 'flag' }, 'endorses lifting restrictions') : null),
    h('div', { class: 'country-grid' },
      h('div', {},
        h('h3', {}, 'Limits'),
        position.status === 'unknown' ? h('p', {}, 'Nothing on record.') : scopeList(position.scope),
        h('h3', { id: 'weapons-heading' }, 'Weapon systems'),
        h('div', { class: 'table-scroll', role: 'region', 'aria-labelledby': 'weapons-heading', tabindex: 0 }, h('table', { class: 'weapons' },
          h('caption', { class: 'visually-hidden' }, `Status of each weapon system named for ${name}`),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'System'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Decided by'))),
          h('tbody', {},
            position.weapons.map((w) => {
              const by = statementsById.get(w.statementId);
              return h('tr', { 'data-system': w.system },
                h('th', { scope: 'row' }, w.system),
                h('td', {}, h('span', { class: `chip chip-${w.status}` }, STATUS_LABEL[w.status]), weaponLimits(w, by)),
                h('td', {}, by ? [speakerParts(by), `, ${formatEffective(by)}`] : w.statementId));
            }),
            h('tr', { class: 'others' },
              h('th', { scope: 'row' }, position.weapons.length ? 'All others' : 'All systems'),
              h('td', {}, h('span', { class: `chip chip-${position.status}` }, STATUS_LABEL[position.status])),
              h('td', {}, 'the headline status'))))),
        h('h3', {}, 'Why'),
        h('div', { class: 'explanation', 'data-source': explanation.fromService ? 'service' : 'basis' },
          shown.map(paragraph),
          folded.length ? h('details', { class: 'more' }, h('summary', {}, 'The rest of the explanation'), folded.map(paragraph)) : null),
        h('p', { class: 'fine' }, explanation.fromService ? 'Explanation from the service.' : 'Explanation built from the position’s basis.')),
      h('div', {},
        h('h3', {}, 'Deciding statement'),
        position.deciding ? h('div', { class: 'deciding' }, statementDetails(position.deciding)) : h('p', {}, 'None: no general permission or prohibition on record.'),
        others.length
          ? [
            h('h3', { id: 'others-heading' }, 'Other statements considered'),
            // Focusable, so a keyboard user can scroll it sideways on a narrow screen.
            h('div', { class: 'table-scroll', role: 'region', 'aria-labelledby': 'others-heading', tabindex: 0 }, h('table', { class: 'others-table' },
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Effective'), h('th', { scope: 'col' }, 'Who'), h('th', { scope: 'col' }, 'Says'), h('th', { scope: 'col' }, 'Why it does not decide'))),
              h('tbody', {}, others.map((o) => h('tr', {},
                // The basis gives the day alone: the statement, where the page has it, says how precise it is.
                h('td', { class: 'nowrap' }, o.statement ? formatEffective(o.statement) : formatDay(o.effectiveAt)),
                h('td', {}, o.statement ? speakerParts(o.statement) : o.statementId, h('span', { class: 'fine block' }, ATTRIBUTION_LABEL[o.attribution])),
                h('td', {}, STANCE_LABEL[o.stance]),
                h('td', {}, whyNot(o, roles))))))),
          ]
          : null)),
  );
}
