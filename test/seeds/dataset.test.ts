// The seed dataset is valid event data, and every quote in it is in the article it cites.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventCatalog, isKnownEventType, upcast } from '../../events/registry.js';
import type { Source } from '../../events/vocabulary.js';
import { SEED_ARTICLES, articleByTitle, normaliseText } from '../../seeds/articles.js';
import { SEED_README_PATH, readSeedEvents, renderTable, withTable } from '../../seeds/table.js';
import { loadSeedLog, repoRoot } from './seed-log.js';

const seeds = readSeedEvents();
const articlesDir = path.resolve(repoRoot, '..', 'shared', 'articles');
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface CitedSource {
  statementId: string;
  eventId: string;
  source: Source;
}

const recorded = seeds.filter((e) => e.type === 'StatementRecorded');
const cited: CitedSource[] = seeds.flatMap((e) =>
  e.type === 'StatementRecorded'
    ? (e.data.sources as Source[]).map((source) => ({ statementId: String(e.data.statementId), eventId: e.eventId, source }))
    : e.type === 'SourceAttached'
      ? [{ statementId: String(e.data.statementId), eventId: e.eventId, source: e.data.source as Source }]
      : [],
);

function articleText(file: string): string {
  const full = path.join(articlesDir, file);
  if (!existsSync(articlesDir)) {
    throw new Error(`the articles are missing: ${articlesDir} does not exist, so the seed quotes cannot be checked (the articles belong in ../shared/articles next to the repository)`);
  }
  if (!existsSync(full)) throw new Error(`the article ${file} is missing from ${articlesDir}`);
  return normaliseText(readFileSync(full, 'utf8'));
}

describe('the seed events', () => {
  it('is a non-empty array of {eventId, type, data} in log order', () => {
    expect(Array.isArray(seeds)).toBe(true);
    expect(seeds.length).toBeGreaterThan(0);
    for (const e of seeds) expect(Object.keys(e).sort()).toEqual(['data', 'eventId', 'type']);
  });

  it.each(seeds.map((e) => [e.type, String(e.data.statementId), e]))('%s %s validates against the current schema of its type', (_t, _id, e) => {
    expect(isKnownEventType(e.type)).toBe(true);
    const parsed = upcast(e.type, eventCatalog[e.type as keyof typeof eventCatalog].version, e.data);
    // Written out in full: nothing is left to the schema's defaults.
    expect(parsed).toEqual(e.data);
  });

  it('uses only the event types a seed may have', () => {
    for (const e of seeds) expect(['StatementRecorded', 'SourceAttached', 'StatementRetracted']).toContain(e.type);
  });

  it('gives every event a unique uuid v4 event id, so loading twice appends nothing', () => {
    for (const e of seeds) expect(e.eventId, e.eventId).toMatch(UUID_V4);
    expect(new Set(seeds.map((e) => e.eventId)).size).toBe(seeds.length);
  });

  it('records every statement id once', () => {
    const ids = recorded.map((e) => e.data.statementId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('attaches sources and retractions only to statements recorded earlier in the log', () => {
    const seen = new Set<string>();
    for (const e of seeds) {
      const id = String(e.data.statementId);
      if (e.type === 'StatementRecorded') seen.add(id);
      else expect(seen.has(id), `${e.type} ${e.eventId} names ${id} before it is recorded`).toBe(true);
    }
  });

  it('folds into country streams without an event about an unknown statement', () => {
    const log = loadSeedLog(seeds);
    const statements = [...log.countries.values()].flatMap((c) => c.statements);
    expect(statements).toHaveLength(recorded.length);
    const attached = seeds.filter((e) => e.type === 'SourceAttached').length;
    expect(statements.reduce((n, s) => n + s.sources.length, 0)).toBe(
      recorded.reduce((n, e) => n + (e.data.sources as Source[]).length, 0) + attached,
    );
  });

  it('sets reportedAt to the earliest source and never puts effectiveAt after it', () => {
    const log = loadSeedLog(seeds);
    for (const s of [...log.countries.values()].flatMap((c) => c.statements)) {
      const earliest = s.sources.map((src) => src.publishedAt).sort()[0];
      expect(s.reportedAt, s.statementId).toBe(earliest);
      expect(s.effectiveAt <= s.reportedAt, `${s.statementId}: effective ${s.effectiveAt} after reported ${s.reportedAt}`).toBe(true);
    }
  });

  it('files every statement under the stream of its own country and statement ids start with that country', () => {
    for (const e of recorded) {
      expect(String(e.data.statementId).slice(0, 3), String(e.data.statementId)).toBe(`${String(e.data.country).toLowerCase()}-`);
    }
  });

  it('covers every country whose policy the articles report', () => {
    const countries = new Set(recorded.map((e) => e.data.country));
    for (const c of ['US', 'FR', 'CA', 'GB', 'DE', 'BE', 'NL', 'DK', 'SE', 'PL', 'FI', 'CZ', 'EE', 'LV', 'LT']) expect(countries).toContain(c);
  });
});

describe('the sources of the seed statements', () => {
  it('cite only the five articles, by title, with the publication day resolved in the README', () => {
    for (const { statementId, source } of cited) {
      const article = articleByTitle(source.title);
      expect(article, `${statementId} cites an unknown title "${source.title}"`).toBeDefined();
      expect(source.publishedAt, `${statementId}: ${source.title}`).toBe(article!.publishedAt);
      // None of the five articles names its publisher.
      expect(source.publisher, statementId).toBeUndefined();
    }
    expect(new Set(cited.map((c) => c.source.title))).toEqual(new Set(SEED_ARTICLES.map((a) => a.title)));
  });

  it('the articles are present in ../shared/articles (the quote checks need them)', () => {
    expect(
      existsSync(articlesDir),
      `the articles are missing: ${articlesDir} does not exist; the quote checks cannot run and must not pass silently`,
    ).toBe(true);
    for (const a of SEED_ARTICLES) expect(existsSync(path.join(articlesDir, a.file)), `article ${a.file} is missing`).toBe(true);
  });

  it.each(cited.map((c) => [c.statementId, c.source.title, c]))('%s: the quote from "%s" is in the article word for word', (_id, _title, c) => {
    const article = articleByTitle(c.source.title);
    expect(article, `unknown title "${c.source.title}"`).toBeDefined();
    const text = articleText(article!.file);
    expect(text.includes(normaliseText(c.source.quote)), `not found in ${article!.file}: ${c.source.quote}`).toBe(true);
  });

  it('normalises only white space and typographic quotes, so a changed word still fails', () => {
    const text = normaliseText('Kirby said there’s “no change”\n in  U.S. policy');
    expect(text.includes(normaliseText('there\'s "no change" in U.S. policy'))).toBe(true);
    expect(text.includes(normaliseText('there is "no change" in U.S. policy'))).toBe(false);
  });
});

describe('seeds/README.md', () => {
  it('shows the dataset as it is in events.json (regenerate with `npx tsx seeds/table.ts`)', () => {
    const readme = readFileSync(SEED_README_PATH, 'utf8');
    expect(withTable(readme, renderTable(seeds))).toBe(readme);
  });
});
