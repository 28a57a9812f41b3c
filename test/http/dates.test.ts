// Dates and times as an analyst gives and reads them, through the real API: days
// known only by their date beside instants with offsets, near midnight, far in
// the past and ahead. Each test has its own service and DATA_DIR.
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { exportLog, readLogFile } from '../../src/audit/log-file.js';
import { Tokens } from '../../src/composition.js';
import type { EventStore } from '../../src/store/event-store.js';
import { startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

async function start(): Promise<TestService> {
  service = await startTestService();
  return service;
}

const post = (url: string, payload: object) => service!.app.inject({ method: 'POST', url, payload, headers: writer });
const get = (url: string) => service!.app.inject({ method: 'GET', url });

/** A French statement: official, one source published when it was reported. */
function statement(over: Record<string, unknown> = {}) {
  const reportedAt = (over.reportedAt as string | undefined) ?? '2024-05-28';
  return {
    country: 'FR',
    stance: 'permits',
    scope: { targets: ['military sites from which missiles are launched'] },
    speaker: { name: 'Emmanuel Macron', role: 'President', attribution: 'official' },
    sources: [{ publisher: 'Le Monde', title: 'Macron on launch sites', publishedAt: reportedAt, quote: 'neutralise the military sites' }],
    effectiveAt: '2024-05-28',
    reportedAt,
    ...over,
  };
}

describe('a retraction dated by its day alone', () => {
  it('may be the day the statement was reported, whatever hour that was; before that day it is still refused', async () => {
    await start();
    expect((await post('/v1/statements', statement({ statementId: 'fr-1', reportedAt: '2024-05-28T16:00:00Z' }))).statusCode).toBe(201);
    // The day before, or an hour on the day that is before the report, cannot be.
    for (const reportedAt of ['2024-05-27', '2024-05-28T15:59:59Z', '2024-05-28T17:00:00+02:00']) {
      const refused = await post('/v1/statements/fr-1/retraction', { reason: 'misreported', reportedAt });
      expect(refused.statusCode, reportedAt).toBe(422);
      expect(refused.json().errors).toEqual([{ path: 'body.reportedAt', message: 'a retraction cannot be reported before the statement it retracts' }]);
    }
    // The outlet withdrew it the same day; the hour is not known.
    const retracted = await post('/v1/statements/fr-1/retraction', { reason: 'the report was withdrawn the same day', reportedAt: '2024-05-28' });
    expect(retracted.statusCode, retracted.body).toBe(201);

    // As known that morning, before the report, the statement was not public yet: not yet reported, not retracted.
    const morning = (await get('/v1/countries/FR/position?at=2024-06-01&knownAt=2024-05-28T09:00:00Z')).json();
    expect(morning.status).toBe('unknown');
    expect(morning.basis.others).toEqual([expect.objectContaining({ statementId: 'fr-1', reason: 'not-yet-reported' })]);
    expect((await get('/v1/countries/FR/explain?at=2024-06-01&knownAt=2024-05-28T09:00:00Z')).json().text).toContain('Reported only after 09:00 UTC on 28 May 2024, so not counted here:');
    // Once reported it was retracted at once, and is as known at the end of the day and now.
    for (const knownAt of ['2024-05-28T16:00:00Z', '2024-05-28', '']) {
      const answer = (await get(`/v1/countries/FR/position?at=2024-06-01${knownAt ? `&knownAt=${knownAt}` : ''}`)).json();
      expect(answer.status, knownAt).toBe('unknown');
      expect(answer.basis.others, knownAt).toEqual([expect.objectContaining({ statementId: 'fr-1', reason: 'retracted' })]);
    }

    // An export of this service imports: the import holds a log to the rules the API applies.
    const file = path.join(service!.dataDir, 'export.jsonl');
    const out = createWriteStream(file);
    await exportLog(service!.container.resolve<EventStore>(Tokens.EventStore), 'sqlite', out);
    out.end();
    await finished(out);
    let events = 0;
    for await (const _ of readLogFile(file)) events += 1;
    expect(events).toBe(2);
  });
});

describe('dates in /explain', () => {
  it('writes an instant by its UTC day, as it writes "as known on": a report at 23:30 on 30 May at UTC-2 is of 31 May', async () => {
    await start();
    const late = '2024-05-30T23:30:00-02:00'; // 2024-05-31T01:30:00Z
    expect((await post('/v1/statements', statement({ country: 'NL', statementId: 'nl-1', effectiveAt: '2024-05-30', reportedAt: late }))).statusCode).toBe(201);
    const explain = async (knownAt: string) => (await get(`/v1/countries/NL/explain?at=2024-06-01&knownAt=${encodeURIComponent(knownAt)}`)).json().text as string;

    // As known on 30 May (the end of that UTC day) it had not been reported...
    expect(await explain('2024-05-30')).toMatch(/^As of 1 June 2024, as known on 30 May 2024, the Netherlands' position is unknown[\s\S]*Reported only after 30 May 2024, so not counted here:/);
    // ...so the report is of 31 May, as known on 31 May, and at the instant it was given in.
    // A day reads as its day; an instant with its time in UTC.
    for (const [knownAt, asKnown] of [['2024-05-31', 'on'], [late, 'at 01:30 UTC on'], ['2024-05-31T15:30:00+14:00', 'at 01:30 UTC on']]) {
      const text = await explain(knownAt);
      expect(text, knownAt).toMatch(new RegExp(`^As of 1 June 2024, as known ${asKnown} 31 May 2024, the Netherlands' position is restricted`));
      expect(text, knownAt).toContain('(Le Monde, "Macron on launch sites", 31 May 2024)');
      expect(text, knownAt).not.toContain('30 May 2024)');
    }
    // The same instant with any offset reads the same.
    expect((await get(`/v1/countries/NL/explain?at=2024-06-01&knownAt=${encodeURIComponent('2024-05-31T01:30:00.000+00:00')}`)).json().text).toBe(await explain(late));
  });

  it('reads a knownAt of 23:30 on 30 May at UTC-2 as 01:30 on 31 May in /position, /history and /explain alike', async () => {
    await start();
    // Reported on 31 May, by its day: from the start of that UTC day.
    expect((await post('/v1/statements', statement({ country: 'CA', statementId: 'ca-1', effectiveAt: '2024-05-29', reportedAt: '2024-05-31' }))).statusCode).toBe(201);
    const ask = async (knownAt: string) => {
      const query = `knownAt=${encodeURIComponent(knownAt)}`;
      const position = (await get(`/v1/countries/CA/position?at=2024-06-01&${query}`)).json();
      const history = (await get(`/v1/countries/CA/history?${query}`)).json();
      const explain = (await get(`/v1/countries/CA/explain?at=2024-06-01&${query}`)).json();
      return { status: position.status, listed: history.statements.length, intervals: history.intervals.length, knownOn: /as known at ([^,]+),/.exec(explain.text)?.[1] };
    };
    expect(await ask('2024-05-30T23:30:00-02:00')).toEqual({ status: 'restricted', listed: 1, intervals: 1, knownOn: '01:30 UTC on 31 May 2024' });
    expect(await ask('2024-05-30T23:30:00Z')).toEqual({ status: 'unknown', listed: 0, intervals: 0, knownOn: '23:30 UTC on 30 May 2024' });
    expect(await ask('2024-05-31T00:00:00+14:00')).toEqual({ status: 'unknown', listed: 0, intervals: 0, knownOn: '10:00 UTC on 30 May 2024' });
  });

  it('says BC before year 1, and names the day of an instant that falls outside years 0000-9999 in UTC', async () => {
    await start();
    expect((await post('/v1/statements', statement({ country: 'BE', effectiveAt: '0000-01-01', reportedAt: '0001-01-01' }))).statusCode).toBe(201);
    const text = async (query: string) => (await get(`/v1/countries/BE/explain?${query}`)).json().text as string;
    // ISO 8601's year 0000 is 1 BC: "1 January 1" would be the same as 0001-01-01.
    expect(await text('at=0000-01-01&knownAt=0001-01-01')).toMatch(/^As of 1 January 1 BC, as known on 1 January 1, Belgium's position is restricted[\s\S]*effective 1 January 1 BC/);
    expect(await text('at=1969-12-31&knownAt=1970-01-01T00:00:00Z')).toMatch(/^As of 31 December 1969, as known at 00:00 UTC on 1 January 1970,/);
    // 0000-01-01T00:00:00+14:00 is 31 December 2 BC, 10:00 UTC; 9999-12-31T23:59:59-14:00 is 1 January 10000, 13:59:59 UTC.
    expect(await text(`at=2024-06-01&knownAt=${encodeURIComponent('0000-01-01T00:00:00+14:00')}`)).toMatch(/^As of 1 June 2024, as known at 10:00 UTC on 31 December 2 BC, Belgium's position is unknown/);
    // Still to come, so answered as known now, and named as the time asked for.
    expect(await text(`at=9999-12-31&knownAt=${encodeURIComponent('9999-12-31T23:59:59-14:00')}`)).toMatch(/^As of 31 December 9999, as known on .+ \(13:59:59 UTC on 1 January 10000 is still to come\), Belgium's position is restricted/);
  });
});

describe('the statements list by effective day', () => {
  it('takes from and to as inclusive days, and refuses a range that ends before it starts', async () => {
    await start();
    for (const [id, effectiveAt] of [['may-31', '2024-05-31'], ['jun-01', '2024-06-01'], ['jun-02', '2024-06-02']]) {
      expect((await post('/v1/statements', statement({ statementId: id, effectiveAt, reportedAt: '2024-06-02' }))).statusCode).toBe(201);
    }
    const ids = async (query: string) => ((await get(`/v1/statements?${query}`)).json().items as Array<{ statementId: string }>).map((s) => s.statementId);
    expect(await ids('from=2024-06-01&to=2024-06-01')).toEqual(['jun-01']);
    expect(await ids('from=2024-06-01')).toEqual(['jun-01', 'jun-02']);
    expect(await ids('to=2024-06-01')).toEqual(['may-31', 'jun-01']);
    // Swapped, the range holds no day: an empty page would read as "nothing was said then".
    const swapped = await get('/v1/statements?from=2024-06-02&to=2024-05-31');
    expect(swapped.statusCode).toBe(400);
    expect(swapped.headers['content-type']).toContain('application/problem+json');
    expect(swapped.json().errors).toEqual([{ path: 'querystring.to', message: 'must be on or after from (2024-06-02)' }]);
  });
});

describe('a day where a day is asked for', () => {
  it('says that at, effectiveAt and the list filters take a day with no time, not that an instant is an invalid date', async () => {
    await start();
    const DAY = 'must be a day that exists, as YYYY-MM-DD (e.g. 2024-05-30), with no time';
    for (const [url, path] of [
      ['/v1/countries/US/position?at=2024-05-30T12:00:00Z', 'querystring.at'],
      ['/v1/countries/US/explain?at=2023-02-29', 'querystring.at'],
      ['/v1/statements?from=2024-05-30T00:00:00Z', 'querystring.from'],
      ['/v1/statements?to=%202024-05-30', 'querystring.to'],
    ]) {
      const refused = await get(url);
      expect(refused.statusCode, url).toBe(400);
      expect(refused.json().errors, url).toEqual([{ path, message: DAY }]);
    }
    const body = await post('/v1/statements', statement({ effectiveAt: '2024-05-28T10:00:00Z' }));
    expect(body.statusCode).toBe(400);
    expect(body.json().errors).toEqual([{ path: 'body.effectiveAt', message: DAY }]);
    // Given twice, it is not a day of another form: it is said to be given twice.
    expect((await get('/v1/countries/US/position?at=2024-01-01&at=2024-01-02')).json().errors).toEqual([{ path: 'querystring.at', message: 'is given more than once: give it once' }]);
  });
});

describe('knowledge and valid time ahead of now', () => {
  it('a knownAt after now answers as known now, and says the knownAt asked; an at ahead counts statements announced for then', async () => {
    await start();
    const today = new Date().toISOString().slice(0, 10);
    const inAYear = `${Number(today.slice(0, 4)) + 1}${today.slice(4)}`.replace('-02-29', '-02-28');
    expect((await post('/v1/statements', statement({ statementId: 'now', reportedAt: today, effectiveAt: '2024-05-28' }))).statusCode).toBe(201);
    // Announced today, in force in a year.
    expect((await post('/v1/statements', statement({ statementId: 'later', stance: 'prohibits', scope: {}, reportedAt: today, effectiveAt: inAYear }))).statusCode).toBe(201);

    const asNow = (await get('/v1/countries/FR/position')).json();
    for (const knownAt of [inAYear, '9999-12-31', '2999-01-01T00:00:00Z']) {
      const ahead = (await get(`/v1/countries/FR/position?knownAt=${knownAt}`)).json();
      expect(ahead.knownAt).toBe(knownAt);
      expect({ ...ahead, knownAt: undefined, basis: { ...ahead.basis, knownAt: undefined } }).toEqual({ ...asNow, knownAt: undefined, basis: { ...asNow.basis, knownAt: undefined } });
      const history = (await get(`/v1/countries/FR/history?knownAt=${knownAt}`)).json();
      const historyNow = (await get('/v1/countries/FR/history')).json();
      expect([history.intervals, history.statements]).toEqual([historyNow.intervals, historyNow.statements]);
    }
    expect(asNow.status).toBe('restricted');
    expect((await get(`/v1/countries/FR/position?at=${inAYear}`)).json()).toMatchObject({ status: 'prohibited', deciding: { statementId: 'later' } });
    expect((await get(`/v1/countries/FR/position?at=${inAYear}&knownAt=2024-06-01`)).json()).toMatchObject({ status: 'unknown' });
  });

  it('/explain answers a knownAt still to come as known now, and says so rather than name a day it cannot know', async () => {
    service = await startTestService({ now: () => new Date('2026-03-12T09:15:00Z') });
    expect((await post('/v1/statements', statement())).statusCode).toBe(201);
    const text = async (query: string) => (await get(`/v1/countries/FR/explain?at=2024-06-01${query}`)).json().text as string;
    const asNow = await text('');
    expect(asNow).toMatch(/^As of 1 June 2024, as known on 12 March 2026, France's position is restricted/);
    for (const [knownAt, inWords] of [['2030-01-01', '1 January 2030'], ['2026-03-13', '13 March 2026'], ['2026-03-12T10:00:00Z', '10:00 UTC on 12 March 2026']]) {
      const ahead = await text(`&knownAt=${knownAt}`);
      expect(ahead, knownAt).toMatch(new RegExp(`^As of 1 June 2024, as known on 12 March 2026 \\(${inWords} is still to come\\), France's position is restricted`));
      // The rest is the answer as known now, as /position gives it.
      expect(ahead.replace(` (${inWords} is still to come)`, ''), knownAt).toBe(asNow);
    }
    // Today's end, asked for as a day, is what an answer as known now says; an instant gone by is named.
    expect(await text('&knownAt=2026-03-12')).toBe(asNow);
    expect(await text(`&knownAt=${encodeURIComponent('2026-03-12T09:00:00Z')}`)).toMatch(/^As of 1 June 2024, as known at 09:00 UTC on 12 March 2026, France's/);
  });
});
