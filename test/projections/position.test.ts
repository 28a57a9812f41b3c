// "Deriving a position" (DOMAIN.md), rule by rule: given these statements, when
// asked at this valid time and knowledge time, then this position.
import { describe, expect, it } from 'vitest';
import { derivePosition, type PositionQuery } from '../../projections/position.js';
import { deriveTimeline } from '../../projections/timeline.js';
import { KNOWN_NOW, knownAtInstant } from '../../projections/time.js';
import { History } from '../helpers/statements.js';

const ask = (history: History, at: string, knownAt: number = KNOWN_NOW, position?: number) =>
  derivePosition(history.record.statements, { at, knownAt, position } satisfies PositionQuery);

const reasonOf = (derivation: ReturnType<typeof ask>, statementId: string) =>
  derivation.notDeciding.find((n) => n.statementId === statementId)?.reason;

describe('deriving a position', () => {
  it('is unknown when no general permit or prohibition is on record', () => {
    const given = new History().recorded({ statementId: 'review', stance: 'reviewing', effectiveAt: '2024-05-29' });
    const then = ask(given, '2024-06-01');
    expect(then.status).toBe('unknown');
    expect(then.deciding).toBeNull();
    expect(then.confidence).toBeNull();
    expect(reasonOf(then, 'review')).toBe('not-status-bearing');
  });

  it('the latest effectiveAt wins, whatever order the statements were recorded in', () => {
    const given = new History()
      .recorded({ statementId: 'later-permit', stance: 'permits', effectiveAt: '2024-05-30', scope: { regions: ['Kharkiv border'] } })
      .recorded({ statementId: 'earlier-ban', stance: 'prohibits', effectiveAt: '2024-05-28' });
    const then = ask(given, '2024-06-05');
    expect(then.status).toBe('restricted');
    expect(then.decidingStatementId).toBe('later-permit');
    expect(reasonOf(then, 'earlier-ban')).toBe('older');
  });

  it('a statement does not count before its effectiveAt', () => {
    const given = new History()
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-01' })
      .recorded({ statementId: 'permit', stance: 'permits', effectiveAt: '2024-05-30' });
    const then = ask(given, '2024-05-29');
    expect(then.status).toBe('prohibited');
    expect(reasonOf(then, 'permit')).toBe('not-yet-effective');
  });

  it('on the same effective day the stronger attribution breaks the tie', () => {
    const given = new History()
      .recorded({ statementId: 'official-ban', stance: 'prohibits', effectiveAt: '2024-05-30' })
      .recorded({ statementId: 'leak', stance: 'permits', effectiveAt: '2024-05-30', speaker: { attribution: 'anonymous-official' } });
    const then = ask(given, '2024-05-30');
    expect(then.status).toBe('prohibited');
    expect(then.decidingStatementId).toBe('official-ban');
    expect(reasonOf(then, 'leak')).toBe('weaker-attribution');
  });

  it('on the same day and attribution, the later log position wins', () => {
    const given = new History()
      .recorded({ statementId: 'first', stance: 'prohibits', effectiveAt: '2024-05-30' })
      .recorded({ statementId: 'second', stance: 'permits', effectiveAt: '2024-05-30' });
    const then = ask(given, '2024-05-30');
    expect(then.decidingStatementId).toBe('second');
    expect(then.status).toBe('unrestricted');
    expect(reasonOf(then, 'first')).toBe('recorded-earlier');
  });

  it('a non-government statement never decides, however recent', () => {
    const given = new History()
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-01' })
      .recorded({ statementId: 'lawmakers', stance: 'permits', effectiveAt: '2024-05-20', speaker: { name: 'US lawmakers', attribution: 'non-government' } });
    const then = ask(given, '2024-06-01');
    expect(then.status).toBe('prohibited');
    expect(reasonOf(then, 'lawmakers')).toBe('non-government');
  });

  it('a retraction hides a statement only from the retraction\'s reportedAt on', () => {
    const given = new History()
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-01' })
      .recorded({ statementId: 'misreport', stance: 'permits', effectiveAt: '2024-05-30' })
      .retracted('misreport', '2024-06-02');
    const knownBefore = ask(given, '2024-06-05', knownAtInstant('2024-06-01'));
    expect(knownBefore.status).toBe('unrestricted');
    expect(knownBefore.decidingStatementId).toBe('misreport');
    const knownAfter = ask(given, '2024-06-05', knownAtInstant('2024-06-02'));
    expect(knownAfter.status).toBe('prohibited');
    expect(reasonOf(knownAfter, 'misreport')).toBe('retracted');
    // Asked before it would have taken effect, it is listed as what it is now known to be: retracted.
    expect(reasonOf(ask(given, '2024-05-29', knownAtInstant('2024-06-02')), 'misreport')).toBe('retracted');
    expect(reasonOf(ask(given, '2024-05-29', knownAtInstant('2024-06-01')), 'misreport')).toBe('not-yet-effective');
  });

  it('knownAt hides what was not yet reported', () => {
    const given = new History()
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-01' })
      .recorded({ statementId: 'permit', stance: 'permits', effectiveAt: '2024-05-30', reportedAt: '2024-05-31' });
    expect(ask(given, '2024-06-05', knownAtInstant('2024-05-30')).status).toBe('prohibited');
    expect(reasonOf(ask(given, '2024-06-05', knownAtInstant('2024-05-30')), 'permit')).toBe('not-yet-reported');
    // Asked for a day before it takes effect, as known before it was public: not reported is what it was then.
    expect(reasonOf(ask(given, '2024-05-29', knownAtInstant('2024-05-30')), 'permit')).toBe('not-yet-reported');
    expect(reasonOf(ask(given, '2024-05-29', knownAtInstant('2024-05-31')), 'permit')).toBe('not-yet-effective');
    expect(ask(given, '2024-06-05', knownAtInstant('2024-05-31')).status).toBe('unrestricted');
    expect(ask(given, '2024-06-05', Date.parse('2024-05-31T08:00:00Z')).status).toBe('unrestricted');
  });

  it('a weapon-specific statement sets that weapon\'s status and leaves the headline alone', () => {
    const given = new History()
      .recorded({ statementId: 'atacms-condition', stance: 'prohibits', effectiveAt: '2024-04-15', scope: { weapons: ['ATACMS'] } })
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-28' })
      .recorded({
        statementId: 'kharkiv',
        stance: 'permits',
        effectiveAt: '2024-05-30',
        scope: { regions: ['across the border from Kharkiv'], purposes: ['counter-fire'], excludedTargets: ['civilian targets'] },
      })
      .recorded({ statementId: 'himars', stance: 'permits', effectiveAt: '2024-05-31', scope: { weapons: ['HIMARS'] } });
    const then = ask(given, '2024-06-05');
    expect(then.status).toBe('restricted');
    expect(then.decidingStatementId).toBe('kharkiv');
    expect(then.weapons).toEqual([
      { system: 'ATACMS', status: 'prohibited', statementId: 'atacms-condition' },
      { system: 'HIMARS', status: 'unrestricted', statementId: 'himars' },
    ]);
    expect(reasonOf(then, 'atacms-condition')).toBe('weapon-specific');
  });

  it('a system named in excludedWeapons of a permission is prohibited', () => {
    const given = new History().recorded({
      statementId: 'permit',
      stance: 'permits',
      effectiveAt: '2024-05-30',
      scope: { regions: ['Kharkiv border'], excludedWeapons: ['ATACMS'] },
    });
    const then = ask(given, '2024-06-01');
    expect(then.status).toBe('restricted');
    expect(then.weapons).toEqual([{ system: 'ATACMS', status: 'prohibited', statementId: 'permit' }]);
  });

  it('reviewing sets underReview while it is newer than the deciding statement', () => {
    const given = new History()
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-28' })
      .recorded({ statementId: 'adapt', stance: 'reviewing', effectiveAt: '2024-05-29' })
      .recorded({ statementId: 'permit', stance: 'permits', effectiveAt: '2024-05-30', scope: { purposes: ['counter-fire'] } });
    expect(ask(given, '2024-05-28').underReview).toBe(false);
    const reviewing = ask(given, '2024-05-29');
    expect(reviewing.underReview).toBe(true);
    expect(reviewing.status).toBe('prohibited');
    expect(ask(given, '2024-05-30').underReview).toBe(false);
  });

  it('endorses sets endorsesLifting when newer than the deciding statement, without granting anything', () => {
    const given = new History('DK').recorded({ statementId: 'support', stance: 'endorses', effectiveAt: '2024-05-27', speaker: { attribution: 'media-report' } });
    const then = ask(given, '2024-06-01');
    expect(then.status).toBe('unknown');
    expect(then.endorsesLifting).toBe(true);
  });

  it('an empty scope means unrestricted, a non-empty one restricted', () => {
    const open = new History('CA').recorded({ statementId: 'no-condition', stance: 'permits', effectiveAt: '2024-05-28' });
    expect(ask(open, '2024-06-01').status).toBe('unrestricted');
    const limited = new History('FR').recorded({ statementId: 'launch-sites', stance: 'permits', effectiveAt: '2024-05-28', scope: { targets: ['military sites from which missiles are fired'] } });
    expect(ask(limited, '2024-06-01').status).toBe('restricted');
  });

  it('confidence is the deciding attribution with the number of sources known at the time', () => {
    const given = new History()
      .recorded({ statementId: 'permit', stance: 'permits', effectiveAt: '2024-05-30', speaker: { attribution: 'anonymous-official' } })
      .sourceAttached('permit', '2024-05-31');
    expect(ask(given, '2024-06-01').confidence).toEqual({ attribution: 'anonymous-official', sources: 2 });
    expect(ask(given, '2024-06-01', knownAtInstant('2024-05-30')).confidence).toEqual({ attribution: 'anonymous-official', sources: 1 });
  });

  it('a correction replaces the statement it supersedes', () => {
    const given = new History()
      .recorded({ statementId: 'first-report', stance: 'permits', effectiveAt: '2024-05-30' })
      .recorded({ statementId: 'correction', stance: 'permits', effectiveAt: '2024-05-29', supersedes: 'first-report', scope: { regions: ['Kharkiv border'] } });
    const then = ask(given, '2024-06-01');
    expect(then.decidingStatementId).toBe('correction');
    expect(reasonOf(then, 'first-report')).toBe('superseded');
  });

  it('a statement counts as reported from its earliest source: a source attached later, published before the recorded reportedAt, makes it known sooner', () => {
    const given = new History()
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-01' })
      .recorded({ statementId: 'permit', stance: 'permits', effectiveAt: '2024-06-01', reportedAt: '2024-06-10' })
      .sourceAttached('permit', '2024-06-02', 'An earlier outlet');
    expect(ask(given, '2024-06-05', knownAtInstant('2024-06-05')).decidingStatementId).toBe('permit');
    // Before that source, the statement had not been reported.
    expect(reasonOf(ask(given, '2024-06-05', knownAtInstant('2024-06-01')), 'permit')).toBe('not-yet-reported');
    // At a point in the log before the source was attached, only the recorded reportedAt was known.
    expect(reasonOf(ask(given, '2024-06-05', knownAtInstant('2024-06-05'), 2), 'permit')).toBe('not-yet-reported');
  });

  it('so does a source it was recorded with, published before the reportedAt given', () => {
    const given = new History().recorded({
      statementId: 'permit',
      stance: 'permits',
      effectiveAt: '2024-06-01',
      reportedAt: '2024-06-10',
      sources: [{ title: 'Later', publishedAt: '2024-06-10', quote: 'yes' }, { title: 'First', publishedAt: '2024-06-03', quote: 'yes' }],
    });
    expect(ask(given, '2024-06-05', knownAtInstant('2024-06-02')).decidingStatementId).toBeNull();
    const then = ask(given, '2024-06-05', knownAtInstant('2024-06-05'));
    expect(then.decidingStatementId).toBe('permit');
    expect(then.confidence).toEqual({ attribution: 'official', sources: 1 });
  });

  it('a correction of a date replaces the wrong record on every day, before its own effective day too, once it is known', () => {
    const given = new History()
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-01' })
      .recorded({ statementId: 'misdated', stance: 'permits', effectiveAt: '2024-06-01', reportedAt: '2024-06-01' })
      .recorded({ statementId: 'redated', stance: 'permits', effectiveAt: '2024-06-10', supersedes: 'misdated', reportedAt: '2024-06-20' });
    // Between the wrong day and the right one, the ban still holds.
    const between = ask(given, '2024-06-05');
    expect(between.decidingStatementId).toBe('ban');
    expect(reasonOf(between, 'misdated')).toBe('superseded');
    expect(reasonOf(between, 'redated')).toBe('not-yet-effective');
    expect(ask(given, '2024-06-12').decidingStatementId).toBe('redated');
    // Before the correction was reported, the record stood as it was.
    expect(ask(given, '2024-06-05', knownAtInstant('2024-06-15')).decidingStatementId).toBe('misdated');
    // The timeline says the same: one interval for the ban until the corrected day.
    const intervals = deriveTimeline(given.record.statements, { knownAt: KNOWN_NOW });
    expect(intervals.map((i) => [i.from, i.decidingStatementId])).toEqual([['2024-05-01', 'ban'], ['2024-06-10', 'redated']]);
  });

  it('a corrected record is listed as superseded on every day, not as not yet in effect or as context', () => {
    const given = new History()
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-01' })
      .recorded({ statementId: 'misdated', stance: 'permits', effectiveAt: '2024-06-10' })
      .recorded({ statementId: 'misattributed', stance: 'permits', effectiveAt: '2024-05-20', speaker: { attribution: 'non-government' } })
      .recorded({ statementId: 'redated', stance: 'permits', effectiveAt: '2024-06-01', supersedes: 'misdated' })
      .recorded({ statementId: 'reattributed', stance: 'permits', effectiveAt: '2024-05-20', supersedes: 'misattributed' });
    // Before either day: the wrong record would not have counted yet, but what a reader needs to know is that it was wrong.
    const before = ask(given, '2024-05-25');
    expect(reasonOf(before, 'misdated')).toBe('superseded');
    expect(reasonOf(before, 'redated')).toBe('not-yet-effective');
    expect(reasonOf(before, 'misattributed')).toBe('superseded');
    // Before the correction was known, the record stood as it was.
    expect(reasonOf(ask(given, '2024-05-25', KNOWN_NOW, 3), 'misdated')).toBe('not-yet-effective');
  });

  it('answers as the log stood at a position: later events are not part of the answer', () => {
    const given = new History()
      .recorded({ statementId: 'ban', stance: 'prohibits', effectiveAt: '2024-05-01' })
      .recorded({ statementId: 'permit', stance: 'permits', effectiveAt: '2024-05-30' })
      .retracted('permit', '2024-06-02');
    expect(ask(given, '2024-06-05', KNOWN_NOW, 1).status).toBe('prohibited');
    expect(ask(given, '2024-06-05', KNOWN_NOW, 2).status).toBe('unrestricted');
    expect(ask(given, '2024-06-05', KNOWN_NOW, 3).status).toBe('prohibited');
  });

  it('lists every statement that did not decide, with its reason', () => {
    const given = new History()
      .recorded({ statementId: 'a', stance: 'prohibits', effectiveAt: '2024-05-01' })
      .recorded({ statementId: 'b', stance: 'permits', effectiveAt: '2024-05-30' })
      .recorded({ statementId: 'c', stance: 'endorses', effectiveAt: '2024-05-02' })
      .recorded({ statementId: 'd', stance: 'permits', effectiveAt: '2024-07-01' });
    const then = ask(given, '2024-06-01');
    expect(Object.fromEntries(then.notDeciding.map((n) => [n.statementId, n.reason]))).toEqual({ a: 'older', c: 'not-status-bearing', d: 'not-yet-effective' });
  });
});
