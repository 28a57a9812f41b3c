// The seed dataset as a user meets it: loaded by the CLI into a store
// (idempotently), then asked through the HTTP API.
import { execFile } from 'node:child_process';
import { micromark } from 'micromark';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, untilReady, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '../../src/cli/main.ts');

let service: TestService;
let dataDir: { dir: string; cleanup: () => void };

beforeAll(async () => {
  dataDir = tempDir();
  const env = { ...process.env, DATA_DIR: dataDir.dir, LOG_LEVEL: 'silent' };
  const first = await run(process.execPath, ['--import', 'tsx', cli, 'seed'], { env });
  expect(first.stdout).toMatch(/^seed: [1-9]\d* events appended, 0 already in the log/);
  const second = await run(process.execPath, ['--import', 'tsx', cli, 'seed'], { env });
  expect(second.stdout).toMatch(/^seed: 0 events appended, [1-9]\d* already in the log/);
  service = await startTestService({ dataDir: dataDir.dir });
  await untilReady(service.app);
}, 60_000);

afterAll(async () => {
  await service?.close();
  dataDir?.cleanup();
});

const position = async (code: string, query = '') => (await service.app.inject(`/v1/countries/${code}/position${query}`)).json();

describe('the seed dataset through the API', () => {
  it('the US on 2024-05-20 prohibited', async () => {
    expect((await position('US', '?at=2024-05-20')).status).toBe('prohibited');
  });

  it('the US on 2024-06-05 restricted to counter-fire across the border from Kharkiv, with ATACMS prohibited', async () => {
    const us = await position('US', '?at=2024-06-05');
    expect(us.status).toBe('restricted');
    expect(us.scope.purposes).toContain('counter-fire');
    expect(us.scope.regions.join(' ')).toMatch(/Kharkiv/);
    expect(us.weapons).toContainEqual(expect.objectContaining({ system: 'ATACMS', status: 'prohibited' }));
  });

  it('the same question as known on 2024-05-29: still prohibited', async () => {
    expect((await position('US', '?at=2024-06-05&knownAt=2024-05-29')).status).toBe('prohibited');
  });

  it('Belgium\'s F-16s prohibited, Canada unrestricted, France restricted to the launch sites', async () => {
    const belgium = await position('BE', '?at=2024-06-05');
    expect(belgium.status).toBe('unknown');
    expect(belgium.weapons).toContainEqual(expect.objectContaining({ system: 'F-16', status: 'prohibited' }));
    expect((await position('CA', '?at=2024-06-05')).status).toBe('unrestricted');
    const france = await position('FR', '?at=2024-06-05');
    expect(france.status).toBe('restricted');
    expect(JSON.stringify(france.scope)).toMatch(/missiles are fired|launched/);
  });

  it('every answer carries its evidence: a deciding statement with a source and a quote', async () => {
    const us = await position('US', '?at=2024-06-05');
    expect(us.deciding.sources[0].quote.length).toBeGreaterThan(10);
    expect(us.basis.others.some((o: { reason: string }) => o.reason === 'non-government')).toBe(true);
  });

  it('the explanation names a speakerless media report in words a journalist can paste', async () => {
    // The ATACMS condition of spring 2024 decides ATACMS as known on 30 May; the Baltic states' support is a media report too.
    const us = (await service.app.inject('/v1/countries/US/explain?at=2024-05-29&knownAt=2024-05-30')).json().text;
    expect(us).toContain('ATACMS is prohibited, per the reporting outlet, effective around 1 March 2024:');
    const latvia = (await service.app.inject('/v1/countries/LV/explain?at=2024-06-05')).json().text;
    expect(latvia).toContain('Latvia has voiced support for lifting restrictions in general, without a grant for its own weapons on record, according to a statement by the reporting outlet, made in a media report with no attributed speaker, effective around 30 May 2024:');
    for (const text of [us, latvia]) expect(text).not.toMatch(/reported by the outlet, no speaker named/);
  });

  it('the explanation reads as a sentence a journalist can paste: who allows what, each limit, and whose government a speaker is outside', async () => {
    const explain = async (code: string, at: string) => (await service.app.inject(`/v1/countries/${code}/explain?at=${at}`)).json().text as string;
    const germany = await explain('DE', '2024-06-05');
    // The supplier allows, Ukraine uses: "it" can only be Germany.
    expect(germany).toContain("Germany's position is restricted: Germany allows Ukraine to use the weapons it supplied against targets on Russian territory, within limits: "
      + "for defence against attacks launched from within Russia, subject to the condition: in accordance with Ukraine's international legal obligations.");
    const us = await explain('US', '2024-06-05');
    expect(us).toContain('within limits: in Russian territory across the border from Kharkiv oblast, against Russian forces');
    expect(us).toContain('not against civilian targets, for counter-fire, subject to the condition: no long-range strikes inside Russia.');
    expect(us).toContain("it comes from outside the United States of America's government and never decides");
    // Unnamed, as reported: the record does not say anonymity was a condition.
    expect(us).toContain('This rests on a statement by an unnamed U.S. official, made anonymously, effective around 30 May 2024:');
    // Belgium's F-16s only: no general position, and Zelensky is outside Belgium's government, not "the" government.
    const belgium = await explain('BE', '2024-06-05');
    expect(belgium).toContain("Belgium's position is unknown: there is no permission or prohibition on record for its weapons in general.");
    expect(belgium).toContain('F-16 is prohibited, per Alexander De Croo (Prime Minister of Belgium), effective 28 May 2024:');
    expect(belgium).toContain('Weapons not named have no permission or prohibition on record.');
    expect(belgium).toContain("(a prohibition): it comes from outside Belgium's government and never decides");
  });

  it('the explanation quotes every source of the deciding statement, not only the first', async () => {
    // The first report of the standing US ban hedges; the later ones say "a ban" and "prohibited".
    const us = (await service.app.inject('/v1/countries/US/explain?at=2024-05-20')).json();
    const position = (await service.app.inject('/v1/countries/US/position?at=2024-05-20')).json();
    expect(position.deciding.sources).toHaveLength(3);
    for (const source of position.deciding.sources) expect(us.text).toContain(`"${source.quote}" ("${source.title}"`);
    // As known before the later reports, only the first is quoted.
    const earlier = (await service.app.inject('/v1/countries/US/explain?at=2024-05-20&knownAt=2024-05-29')).json();
    expect(earlier.text).toContain(position.deciding.sources[0].quote);
    expect(earlier.text).not.toContain(position.deciding.sources[1].quote);
    expect(earlier.text).not.toContain('Also reported:');
  });

  it('the explanation lists what did not decide by the day it took effect, not in the order it was recorded', async () => {
    const us = (await service.app.inject('/v1/countries/US/explain?at=2024-06-05')).json();
    const listed = us.text.split('Also on record, not deciding:')[1].trim().split('; ');
    const days = listed.map((line: string) => Date.parse(line.match(/(\d{1,2} )?(January|February|March|April|May|June|July|August|September|October|November|December) \d{4}/)![0]));
    expect(listed.length).toBeGreaterThan(5);
    expect(days).toEqual([...days].sort((a, b) => a - b));
  });

  it('the explanation names and quotes the statement behind each flag, the one the derivation picks', async () => {
    const explain = async (code: string, query: string) => (await service.app.inject(`/v1/countries/${code}/explain?${query}`)).json().text as string;
    // On 29 May, as now known, the unnamed officials' review is recorded after Kirby's same-day reiteration, which decides.
    const now = await explain('US', 'at=2024-05-29');
    expect(now).toContain('This rests on a statement by John Kirby (National Security Council spokesman), made on the record, effective 29 May 2024:');
    expect(now).toContain('The policy is under review, according to a later statement by unnamed U.S. officials, made anonymously, effective around 29 May 2024: '
      + '"While revealing that a change of course is under consideration, U.S. officials said the White House hasn’t made a decision.');
    expect(now).toContain('carefully reflect where the administration is in the policymaking process." ("Ukraine setbacks nudge Biden toward allowing use of U.S. weapons in Russia", 30 May 2024).');
    // Said once: quoted for the flag, and so not listed again among the statements that did not decide.
    expect(now.split('unnamed U.S. officials')).toHaveLength(2);
    // As known on 29 May, neither had been reported: Kirby's Tuesday remark decides, and Blinken's review is the later one.
    const then = await explain('US', 'at=2024-05-29&knownAt=2024-05-29');
    expect(then).toContain('The policy is under review, according to a later statement by Antony Blinken (Secretary of State), made on the record, effective 29 May 2024: "Blinken has hinted at a possible shift');
    expect(then).not.toContain('While revealing');
    // /position names the same statements in its basis, for clients that explain it themselves (the page).
    const basis = async (code: string, query: string) => (await service.app.inject(`/v1/countries/${code}/position?${query}`)).json().basis;
    expect(await basis('US', 'at=2024-05-29')).toMatchObject({ underReviewStatementId: 'us-2024-05-29-officials-no-decision', endorsesLiftingStatementId: null });
    expect(await basis('US', 'at=2024-05-29&knownAt=2024-05-29')).toMatchObject({ underReviewStatementId: 'us-2024-05-29-blinken-adapt-and-adjust' });
    expect(await basis('NL', 'at=2024-06-05')).toMatchObject({ underReviewStatementId: null, endorsesLiftingStatementId: 'nl-2024-05-28-ollongren-one-hand-tied' });
    // Support for lifting restrictions, with no deciding statement.
    expect(await explain('NL', 'at=2024-06-05')).toContain('The Netherlands has voiced support for lifting restrictions in general, without a grant for its own weapons on record, '
      + 'according to a statement by Kajsa Ollongren (Minister of Defence of the Netherlands), made on the record, effective 28 May 2024: "Dutch Defense Minister Kajsa Ollongren said');
  });

  it('as known at a past time, the statements reported only later are a list of their own, last, not "on record"', async () => {
    const query = 'at=2024-05-29&knownAt=2024-05-29';
    const position = (await service.app.inject(`/v1/countries/US/position?${query}`)).json();
    const later = position.basis.others.filter((o: { reason: string }) => o.reason === 'not-yet-reported');
    // The basis keeps them, with the reason (DOMAIN.md).
    expect(later.map((o: { statementId: string }) => o.statementId)).toContain('us-2024-05-29-kirby-no-change-reiterated');
    const { text, markdown } = (await service.app.inject(`/v1/countries/US/explain?${query}`)).json();
    for (const explained of [text, markdown]) {
      const [before, after] = explained.split('Reported only after 29 May 2024, so not counted here:');
      expect(after, explained).toBeDefined();
      expect(before).toContain('Also on record, not deciding:');
      expect(before).not.toContain('John Kirby (National Security Council spokesman), 29 May 2024');
      expect(before).not.toMatch(/not been reported/);
      expect(after).toContain('John Kirby (National Security Council spokesman), 29 May 2024');
      // One item for each statement reported later, and nothing after them.
      expect(after.trim().split(explained === text ? '; ' : '\n- ')).toHaveLength(later.length);
    }
  });

  it('in Markdown, a quote of two paragraphs stays two paragraphs, both in the block quote', async () => {
    const markdown = (await service.app.inject({ url: '/v1/countries/US/explain?at=2024-05-29', headers: { accept: 'text/markdown' } })).body;
    const html = micromark(markdown);
    const kirby = html.slice(html.indexOf('<blockquote>'), html.indexOf('</blockquote>'));
    expect(kirby).toMatch(/^<blockquote>\n<p>After Blinken’s comments, [^<]*that it could change\.<\/p>\n<p>“Our support to Ukraine [^<]*,” he said\.<\/p>\n$/);
  });

  it('the explanation writes a country\'s name as English does: "the Netherlands\' position", not "Netherlands\'s"', async () => {
    const explain = async (code: string) => (await service.app.inject(`/v1/countries/${code}/explain?at=2024-06-05`)).json().text as string;
    const netherlands = await explain('NL');
    expect(netherlands).toMatch(/^As of 5 June 2024, as known on .*, the Netherlands' position is unknown: /);
    // Nothing decides, so nothing came before the support it voiced.
    expect(netherlands).toContain('\n\nThe Netherlands has voiced support for lifting restrictions in general');
    expect(await explain('US')).toMatch(/, the United States of America's position is restricted: /);
    expect(await explain('GB')).toMatch(/, the United Kingdom's position is unrestricted: /);
    expect(await explain('DE')).toMatch(/, Germany's position is restricted: /);
  });
});
