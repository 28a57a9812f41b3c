// With the seeds loaded, the derivation gives the answers a careful reader of the
// five articles gives. Pure: the seed events are folded through the projections.
import { describe, expect, it } from 'vitest';
import { derivePosition, type Derivation } from '../../projections/position.js';
import type { CountryRecord } from '../../projections/statement-record.js';
import { KNOWN_NOW, knownAtInstant } from '../../projections/time.js';
import { deriveTimeline } from '../../projections/timeline.js';
import { loadSeedLog } from './seed-log.js';

const log = loadSeedLog();

function record(country: string): CountryRecord {
  const r = log.countries.get(country);
  if (!r) throw new Error(`no seed statements for ${country}`);
  return r;
}

/** The position of `country` on `at`, as known at the end of the day `knownAt` (everything known when omitted). */
function position(country: string, at: string, knownAt?: string): Derivation {
  return derivePosition(record(country).statements, { at, knownAt: knownAt ? knownAtInstant(knownAt) : KNOWN_NOW });
}

const weapon = (d: Derivation, system: string) => d.weapons.find((w) => w.system.toUpperCase() === system.toUpperCase());
const reasonFor = (d: Derivation, statementId: string) => d.notDeciding.find((n) => n.statementId === statementId)?.reason;

describe('the United States', () => {
  it('on 2024-05-20 prohibits the use of its weapons inside Russia, ATACMS included', () => {
    const d = position('US', '2024-05-20');
    expect(d.status).toBe('prohibited');
    expect(d.decidingStatementId).toBe('us-2022-02-24-standing-prohibition');
    expect(weapon(d, 'ATACMS')).toMatchObject({ status: 'prohibited', statementId: 'us-2024-spring-atacms-condition' });
    expect(d.underReview).toBe(false);
    expect(d.confidence).toEqual({ attribution: 'official', sources: 3 });
  });

  it('on 2024-05-28 still prohibits, on Kirby\'s "no change"', () => {
    const d = position('US', '2024-05-28');
    expect(d.status).toBe('prohibited');
    expect(d.decidingStatementId).toBe('us-2024-05-28-kirby-no-change');
    expect(d.underReview).toBe(false);
    expect(reasonFor(d, 'us-2022-02-24-standing-prohibition')).toBe('older');
  });

  it('on 2024-05-29 prohibits but is under review (Blinken: "adapt and adjust")', () => {
    const d = position('US', '2024-05-29');
    expect(d.status).toBe('prohibited');
    expect(d.underReview).toBe(true);
    expect(d.deciding?.stance).toBe('prohibits');
    expect(reasonFor(d, 'us-2024-05-29-blinken-adapt-and-adjust')).toBe('not-status-bearing');
    expect(weapon(d, 'ATACMS')?.status).toBe('prohibited');
  });

  it('on 2024-06-05 is restricted to counter-fire near Kharkiv, with ATACMS prohibited', () => {
    const d = position('US', '2024-06-05');
    expect(d.status).toBe('restricted');
    expect(d.decidingStatementId).toBe('us-2024-05-30-kharkiv-counter-fire');
    expect(d.scope?.purposes).toEqual(['counter-fire']);
    expect(d.scope?.regions).toEqual(['Russian territory across the border from Kharkiv oblast']);
    expect(d.scope?.excludedTargets).toEqual(['civilian targets']);
    expect(d.scope?.weapons).toBeUndefined();
    expect(d.scope?.conditions).toEqual(['no long-range strikes inside Russia']);
    // The reports name no system: ATACMS stays prohibited on the spring condition, whose quote names it.
    expect(d.scope?.excludedWeapons).toBeUndefined();
    expect(weapon(d, 'ATACMS')).toMatchObject({ status: 'prohibited', statementId: 'us-2024-spring-atacms-condition' });
    expect(d.underReview).toBe(false);
    expect(d.confidence).toEqual({ attribution: 'anonymous-official', sources: 2 });
  });

  it('on 2024-06-05 as known at the end of 2024-05-29 still prohibits, under review: the Kharkiv permission was not yet reported', () => {
    const d = position('US', '2024-06-05', '2024-05-29');
    expect(d.status).toBe('prohibited');
    expect(d.decidingStatementId).toBe('us-2024-05-28-kirby-no-change');
    expect(d.underReview).toBe(true);
    expect(reasonFor(d, 'us-2024-05-30-kharkiv-counter-fire')).toBe('not-yet-reported');
    expect(weapon(d, 'ATACMS')).toBeUndefined(); // the ATACMS condition was reported on 30 May
  });

  it('on 2024-06-05 as known at the end of 2024-05-30 is already restricted, on one source', () => {
    const d = position('US', '2024-06-05', '2024-05-30');
    expect(d.status).toBe('restricted');
    expect(d.confidence).toEqual({ attribution: 'anonymous-official', sources: 1 });
  });

  it('has a timeline: prohibited, then under review on 29 May, then restricted from 30 May', () => {
    const t = deriveTimeline(record('US').statements, { knownAt: KNOWN_NOW });
    expect(t.map((i) => [i.from, i.to, i.status, i.underReview])).toEqual([
      ['2022-02-24', '2024-03-01', 'prohibited', false],
      ['2024-03-01', '2024-05-29', 'prohibited', false], // ATACMS named from spring
      ['2024-05-29', '2024-05-30', 'prohibited', true],
      ['2024-05-30', null, 'restricted', false],
    ]);
  });
});

describe('the allies that spoke for their own weapons', () => {
  it('Belgium prohibits its F-16s ("to be used in the Ukrainian territory"); nothing on record speaks for its other weapons', () => {
    const d = position('BE', '2024-06-05');
    expect(d.status).toBe('unknown');
    expect(d.decidingStatementId).toBeNull();
    expect(d.weapons).toEqual([expect.objectContaining({ system: 'F-16', status: 'prohibited', statementId: 'be-2024-05-28-de-croo-ukrainian-territory' })]);
    expect(reasonFor(d, 'be-2024-05-28-de-croo-ukrainian-territory')).toBe('weapon-specific');
    expect(position('BE', '2024-05-27').weapons).toEqual([]);
  });

  it('Canada is unrestricted: "no condition on end user shipment"', () => {
    const d = position('CA', '2024-06-05');
    expect(d.status).toBe('unrestricted');
    expect(d.scope).toEqual({});
    // One article reports what Joly said; the others only name Canada in a list of supporters.
    expect(d.confidence).toEqual({ attribution: 'official', sources: 1 });
  });

  it('France is restricted to the military sites from which missiles are fired, not other targets', () => {
    const d = position('FR', '2024-06-05');
    expect(d.status).toBe('restricted');
    expect(d.scope?.targets).toEqual(['military sites in Russia from which missiles are fired at Ukraine']);
    expect(d.scope?.excludedTargets).toEqual(['other targets in Russia']);
    expect(d.confidence).toEqual({ attribution: 'official', sources: 3 });
  });

  it('France had said nothing on record before Macron spoke on 28 May', () => {
    expect(position('FR', '2024-05-27').status).toBe('unknown');
  });

  it('the United Kingdom permits British weapons, Storm Shadow included, from early May', () => {
    const d = position('GB', '2024-05-10');
    expect(d.status).toBe('unrestricted');
    expect(d.decidingStatementId).toBe('gb-2024-05-03-cameron-kyiv');
    expect(d.weapons).toEqual([]); // Storm Shadow follows the headline
    expect(position('GB', '2024-06-05').status).toBe('unrestricted');
    // A0, A3 and A4 report Cameron's words; A2 and A1 only name the UK among supporters.
    expect(position('GB', '2024-06-05').confidence).toEqual({ attribution: 'official', sources: 3 });
  });

  it('Germany, before 31 May, endorses lifting with nothing granted; from 31 May it is restricted to defence against attacks launched from Russia, within international law', () => {
    const before = position('DE', '2024-05-30');
    expect(before.status).toBe('unknown');
    expect(before.endorsesLifting).toBe(true);

    const after = position('DE', '2024-05-31');
    expect(after.status).toBe('restricted');
    expect(after.decidingStatementId).toBe('de-2024-05-31-spokesperson-international-law');
    expect(after.scope?.purposes).toEqual(['defence against attacks launched from within Russia']);
    expect(after.scope?.conditions).toEqual(["in accordance with Ukraine's international legal obligations"]);
    expect(after.endorsesLifting).toBe(false);
    expect(position('DE', '2024-06-05').status).toBe('restricted');
  });

  it('Germany as known at the end of 30 May has only Scholz\'s support', () => {
    const d = position('DE', '2024-06-05', '2024-05-30');
    expect(d.status).toBe('unknown');
    expect(d.endorsesLifting).toBe(true);
    expect(reasonFor(d, 'de-2024-05-31-spokesperson-international-law')).toBe('not-yet-reported');
  });
});

describe('the allies reported as supporting', () => {
  it.each(['NL', 'DK', 'SE', 'PL', 'FI', 'CZ', 'EE', 'LV', 'LT'])('%s endorses lifting the restrictions, with its own status unknown', (country) => {
    const d = position(country, '2024-06-05');
    expect(d.status).toBe('unknown');
    expect(d.endorsesLifting).toBe(true);
    expect(d.deciding).toBeNull();
    expect(d.confidence).toBeNull();
  });

  it('the Czech Republic endorses on the record (Lipavsky), the Baltic states only through a media report', () => {
    expect(position('CZ', '2024-06-05').notDeciding).toEqual([{ statementId: 'cz-2024-05-30-lipavsky-moving', reason: 'not-status-bearing' }]);
    for (const c of ['EE', 'LV', 'LT']) {
      expect(record(c).statements.map((s) => s.speaker.attribution)).toEqual(['media-report']);
    }
  });
});

describe('context that is not policy', () => {
  const nonGovernment = [...log.countries.values()].flatMap((c) =>
    c.statements.filter((s) => s.speaker.attribution === 'non-government').map((s) => [c.country, s.statementId] as const),
  );

  it('is on record: the lawmakers\' letter, Volker, Stoltenberg, Zelensky', () => {
    expect(nonGovernment.map(([, id]) => id).sort()).toEqual(
      [
      'be-2024-05-28-zelensky-partners',
      'us-2024-05-24-stoltenberg-economist',
      'us-2024-05-27-stoltenberg-self-defence',
      'us-2024-05-30-stoltenberg-time-has-come',
      'us-2024-05-lawmakers-letter',
      'us-2024-05-31-volker-no-systems-off-limits',
      ].sort(),
    );
  });

  it.each(nonGovernment)('%s %s never decides: it is listed as non-government', (country, statementId) => {
    const d = position(country, '2024-06-05');
    expect(d.decidingStatementId).not.toBe(statementId);
    expect(reasonFor(d, statementId)).toBe('non-government');
  });

  it('does not make the US endorse lifting, though Stoltenberg, Volker and the lawmakers urge it', () => {
    for (const at of ['2024-05-20', '2024-05-28', '2024-06-05']) expect(position('US', at).endorsesLifting).toBe(false);
  });
});
