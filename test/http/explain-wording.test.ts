// /explain is pasted into articles: each sentence must say what the position says,
// in words that cannot be misread. These are the cases the seeds do not reach.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kirby, startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service.stop());

const record = async (body: object) => {
  const created = await service.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: { ...kirby, ...body } });
  expect(created.statusCode, created.body).toBe(201);
};
const explain = async (code: string, query: string) => (await service.app.inject(`/v1/countries/${code}/explain?${query}`)).json().text as string;

it('a prohibition with a scope says its terms, as the position does, not a blanket ban', async () => {
  await record({
    country: 'MT', stance: 'prohibits', scope: { regions: ['Crimea'], purposes: ['long-range strikes'] },
    speaker: { attribution: 'official' },
    effectiveAt: '2024-06-01', reportedAt: '2024-06-01',
    sources: [{ publisher: 'AP', title: 'PM on strikes', publishedAt: '2024-06-01', quote: 'Not for long-range strikes into Crimea.' }],
  });
  const position = (await service.app.inject('/v1/countries/MT/position?at=2024-06-02')).json();
  expect(position.status).toBe('prohibited');
  expect(position.scope).toEqual({ regions: ['Crimea'], purposes: ['long-range strikes'] });
  const text = await explain('MT', 'at=2024-06-02');
  expect(text).toContain("Malta's position is prohibited: Malta does not allow Ukraine to use the weapons it supplied against targets on Russian territory. The prohibition applies in Crimea, for long-range strikes.");
  // An official on the record with no name is not "an unnamed source", which reads as anonymous.
  expect(text).toContain('This rests on a statement by an official, made on the record, effective 1 June 2024:');
});

it('what a prohibition leaves out reads "except", not a double negative', async () => {
  await record({ country: 'LU', stance: 'prohibits', scope: { excludedTargets: ['air defence sites'], conditions: ['until the summit'] }, effectiveAt: '2024-06-01', reportedAt: '2024-06-01' });
  expect(await explain('LU', 'at=2024-06-02')).toContain(
    'Luxembourg does not allow Ukraine to use the weapons it supplied against targets on Russian territory. The prohibition applies except against air defence sites, subject to the condition: until the summit.',
  );
});

it('a source in the same words as one already quoted is named, not quoted again; a speaker with no name is named by attribution', async () => {
  const same = { title: 'Wire copy', publishedAt: '2024-06-01', quote: 'They may not.' };
  await record({
    country: 'SI', speaker: { attribution: 'media-report' }, effectiveAt: '2024-06-01', reportedAt: '2024-06-01',
    sources: [same, { ...same, title: 'Same wire, another paper' }, { ...same, title: 'Own reporting', quote: 'Slovenia keeps its ban.' }],
  });
  const text = await explain('SI', 'at=2024-06-02');
  expect(text).toContain('This rests on a statement by the reporting outlet, made in a media report with no attributed speaker');
  expect(text).toContain('Also reported in the same words ("Same wire, another paper", 1 June 2024).');
  expect(text).toContain('Also reported: "Slovenia keeps its ban." ("Own reporting", 1 June 2024).');
  expect(text.split('"They may not."')).toHaveLength(2);
});

it('a general prohibition stays a plain sentence', async () => {
  await record({ country: 'CY', effectiveAt: '2024-06-01', reportedAt: '2024-06-01' });
  expect(await explain('CY', 'at=2024-06-02')).toContain('Cyprus does not allow Ukraine to use the weapons it supplied against targets on Russian territory.\n');
});

it('names the time of a knownAt asked for as an instant, since two instants of one day can answer differently', async () => {
  await record({ country: 'IS', stance: 'permits', effectiveAt: '2024-06-01', reportedAt: '2024-06-05T12:00:00Z', sources: [{ title: 'Noon report', publishedAt: '2024-06-05T12:00:00Z', quote: 'They may.' }] });
  const morning = await explain('IS', `at=2024-06-06&knownAt=${encodeURIComponent('2024-06-05T10:00:00Z')}`);
  const afternoon = await explain('IS', `at=2024-06-06&knownAt=${encodeURIComponent('2024-06-05T16:00:30Z')}`);
  expect(morning).toMatch(/^As of 6 June 2024, as known at 10:00 UTC on 5 June 2024, Iceland's position is unknown/);
  expect(afternoon).toMatch(/^As of 6 June 2024, as known at 16:00:30 UTC on 5 June 2024, Iceland's position is unrestricted/);
  // A day means the end of that day, and reads as the day.
  expect(await explain('IS', 'at=2024-06-06&knownAt=2024-06-05')).toMatch(/^As of 6 June 2024, as known on 5 June 2024, Iceland's position is unrestricted/);
});

it('support for lifting restrictions voiced after a permission does not say that no grant is on record', async () => {
  await record({ country: 'EE', stance: 'permits', scope: { purposes: ['self-defence'] }, effectiveAt: '2024-06-01', reportedAt: '2024-06-01' });
  await record({ country: 'EE', stance: 'endorses', effectiveAt: '2024-06-02', reportedAt: '2024-06-02' });
  const restricted = await explain('EE', 'at=2024-06-03');
  expect(restricted).toContain('Estonia allows Ukraine to use the weapons it supplied against targets on Russian territory, within limits: for self-defence.');
  expect(restricted).toContain('Estonia has since voiced support for lifting restrictions in general, according to a statement by John Kirby');
  expect(restricted).not.toContain('without a grant');
  // A grant for one named system is a grant too.
  await record({ country: 'LV', stance: 'permits', scope: { weapons: ['HIMARS'] }, effectiveAt: '2024-06-01', reportedAt: '2024-06-01' });
  await record({ country: 'LV', stance: 'endorses', effectiveAt: '2024-06-02', reportedAt: '2024-06-02' });
  const named = await explain('LV', 'at=2024-06-03');
  expect(named).toContain('HIMARS is unrestricted');
  expect(named).toContain('Latvia has voiced support for lifting restrictions in general, according to');
  // With nothing granted, the clause says what the stance means.
  await record({ country: 'LT', stance: 'endorses', effectiveAt: '2024-06-02', reportedAt: '2024-06-02' });
  expect(await explain('LT', 'at=2024-06-03')).toContain('Lithuania has voiced support for lifting restrictions in general, without a grant for its own weapons on record, according to');
});

it('a retracted statement is listed with when it was retracted and why, as known then', async () => {
  await record({ country: 'FI', stance: 'prohibits', effectiveAt: '2024-05-01', reportedAt: '2024-05-01' });
  const created = await service.app.inject({
    method: 'POST', url: '/v1/statements', headers: writer,
    payload: { ...kirby, country: 'FI', stance: 'permits', effectiveAt: '2024-06-01', reportedAt: '2024-06-01', speaker: { name: 'A Spokesperson', attribution: 'official' } },
  });
  const retracted = await service.app.inject({
    method: 'POST', url: `/v1/statements/${created.json().statementId}/retraction`, headers: writer,
    payload: { reason: 'the outlet withdrew its report', reportedAt: '2024-06-03' },
  });
  expect(retracted.statusCode, retracted.body).toBe(201);
  expect(await explain('FI', 'at=2024-06-05')).toContain('A Spokesperson, 1 June 2024 (a permission): it was retracted on 3 June 2024 (the outlet withdrew its report).');
  // Before the retraction was reported, the statement decides.
  expect(await explain('FI', 'at=2024-06-05&knownAt=2024-06-02')).toContain('This rests on a statement by A Spokesperson');
});

it('a weapon restricted by a statement naming it says its limits, as the headline does', async () => {
  await record({
    country: 'RO', stance: 'permits', scope: { weapons: ['HIMARS'], regions: ['the Kharkiv border area'], purposes: ['counter-fire'] },
    speaker: { name: 'A Minister', attribution: 'official' }, effectiveAt: '2024-05-30', reportedAt: '2024-05-30',
  });
  expect(await explain('RO', 'at=2024-06-05')).toContain('HIMARS is restricted (in the Kharkiv border area, for counter-fire), per A Minister, effective 30 May 2024:');
});

it('a weapon the deciding statement excludes points back to its quote instead of setting it again', async () => {
  const long = `${'The permission covers counter-fire near the border, and no more. '.repeat(60)}ATACMS stay out of it.`;
  await record({
    country: 'BG', stance: 'permits', scope: { purposes: ['counter-fire'], excludedWeapons: ['ATACMS'] },
    speaker: { name: 'A Minister', attribution: 'official' }, effectiveAt: '2024-05-30', reportedAt: '2024-05-30',
    sources: [{ title: 'Sofia', publishedAt: '2024-05-30', quote: long }],
  });
  const explained = (await service.app.inject('/v1/countries/BG/explain?at=2024-06-05')).json();
  expect(explained.text).toContain('\n\nATACMS is prohibited: the deciding statement, quoted above, excludes it.\n\n');
  expect(explained.markdown).toContain('\n\n**ATACMS** is prohibited: the deciding statement, quoted above, excludes it.\n\n');
  for (const text of [explained.text, explained.markdown]) expect(text.split('ATACMS stay out of it.')).toHaveLength(2);
});

it('a statement deciding two named weapons is quoted once, for the first', async () => {
  await record({
    country: 'HU', stance: 'prohibits', scope: { weapons: ['HIMARS', 'M270'] },
    speaker: { name: 'A Minister', attribution: 'official' }, effectiveAt: '2024-05-30', reportedAt: '2024-05-30',
    sources: [{ title: 'Budapest', publishedAt: '2024-05-30', quote: 'Neither launcher may fire into Russia.' }],
  });
  const text = await explain('HU', 'at=2024-06-05');
  expect(text).toContain('HIMARS is prohibited, per A Minister, effective 30 May 2024: "Neither launcher may fire into Russia." ("Budapest", 30 May 2024).');
  expect(text).toContain('M270 is prohibited, per A Minister, effective 30 May 2024, in the words quoted above ("Budapest", 30 May 2024).');
  expect(text.split('Neither launcher')).toHaveLength(2);
});

it('lists what each statement says in words, and says a statement still to come is due, whatever day was asked about', async () => {
  const next = new Date().getUTCFullYear() + 1;
  const today = new Date().toISOString().slice(0, 10);
  await record({ country: 'PT', stance: 'prohibits', effectiveAt: '2024-05-01', reportedAt: '2024-05-01', speaker: { name: 'Before', attribution: 'official' } });
  // Before the prohibition, so it raises no flag (a flag's statement is quoted, not listed).
  await record({ country: 'PT', stance: 'reviewing', effectiveAt: '2024-04-30', reportedAt: '2024-04-30', speaker: { name: 'Review', attribution: 'official' } });
  await record({ country: 'PT', stance: 'permits', effectiveAt: '2024-06-10', reportedAt: '2024-06-10', speaker: { name: 'Summer', attribution: 'official' } });
  await record({ country: 'PT', stance: 'endorses', effectiveAt: `${next}-03-01`, reportedAt: today, speaker: { name: 'Spring', attribution: 'official' } });
  const june = await explain('PT', 'at=2024-06-05');
  expect(june).toContain('Review, 30 April 2024 (the policy under review): it neither permits nor prohibits');
  // In effect by now: as of 5 June 2024, it had not been.
  expect(june).toContain('Summer, 10 June 2024 (a permission): it had not taken effect yet');
  // Still to come, seen from today: due, as of a past day and as of today alike.
  for (const query of ['at=2024-06-05', `at=${today}`]) {
    expect(await explain('PT', query), query).toContain(`Spring, 1 March ${next} (support for lifting restrictions): it is due to take effect on 1 March ${next}`);
  }
  const now = await explain('PT', `at=${today}`);
  expect(now).toContain('Before, 1 May 2024 (a prohibition): a later statement decides');
  expect(now).not.toMatch(/\((permits|prohibits|reviewing|endorses)\)/);
});

it('a statement quoted for a flag or a named weapon is said once: it is not listed again among those that did not decide', async () => {
  const said = (name: string, body: object) => record({ country: 'AT', speaker: { name, attribution: 'official' }, sources: [{ title: `${name} speaks`, publishedAt: '2024-06-03', quote: `In the words of ${name}.` }], reportedAt: '2024-06-03', ...body });
  await said('Earlier', { stance: 'prohibits', effectiveAt: '2024-05-01' });
  await said('Deciding', { stance: 'prohibits', effectiveAt: '2024-06-01' });
  await said('Weapons', { stance: 'prohibits', scope: { weapons: ['HIMARS'] }, effectiveAt: '2024-06-01' });
  await said('Reviewer', { stance: 'reviewing', effectiveAt: '2024-06-02' });
  await said('Endorser', { stance: 'endorses', effectiveAt: '2024-06-03' });
  const { text, markdown } = (await service.app.inject('/v1/countries/AT/explain?at=2024-06-05')).json();
  expect(text).toContain('HIMARS is prohibited, per Weapons, effective 1 June 2024: "In the words of Weapons."');
  expect(text).toContain('The policy is under review, according to a later statement by Reviewer, made on the record, effective 2 June 2024: "In the words of Reviewer."');
  expect(text).toContain('Austria has since voiced support for lifting restrictions in general, without a grant for its own weapons on record, according to a statement by Endorser, made on the record, effective 3 June 2024:');
  // The list keeps what the text has not said yet, and only that.
  expect(text).toMatch(/\n\nAlso on record, not deciding: Earlier, 1 May 2024 \(a prohibition\): a later statement decides\.$/);
  for (const explained of [text, markdown]) {
    for (const name of ['Weapons', 'Reviewer', 'Endorser']) expect(explained.split(`${name},`), `${name} in ${explained}`).toHaveLength(2);
  }
});

it('a weapon prohibited only within limits says where the prohibition applies; one a permission leaves out does not borrow its limits', async () => {
  await record({
    country: 'GR', stance: 'prohibits', scope: { weapons: ['ATACMS'], regions: ['Crimea'], excludedTargets: ['air defence sites'] },
    speaker: { name: 'A Minister', attribution: 'official' }, effectiveAt: '2024-05-30', reportedAt: '2024-05-30',
  });
  await record({
    country: 'GR', stance: 'permits', scope: { purposes: ['counter-fire'], excludedWeapons: ['Storm Shadow'] },
    speaker: { name: 'A Minister', attribution: 'official' }, effectiveAt: '2024-05-31', reportedAt: '2024-05-31',
  });
  const text = await explain('GR', 'at=2024-06-05');
  expect(text).toContain('ATACMS is prohibited (in Crimea, except against air defence sites), per A Minister, effective 30 May 2024');
  expect(text).toContain('Storm Shadow is prohibited: the deciding statement, quoted above, excludes it.');
});
