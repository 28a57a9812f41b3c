// The five articles the seed dataset cites, by the title its sources carry.
// Sources name an article only by title (the schema has no article field), so
// this map is how a reader, a test or the README finds the text behind a quote.
// The files live in `../shared/articles/` next to the repository.

export interface SeedArticle {
  /** File name in `../shared/articles/`. */
  file: string;
  /** The headline, or for the one article without a headline, its opening words. */
  title: string;
  /** The day the article was published, as resolved in seeds/README.md. */
  publishedAt: string;
  /** A short label for tables. */
  label: string;
}

export const SEED_ARTICLES: readonly SeedArticle[] = [
  {
    file: '000_97dcc9a45c7be49b.txt',
    title: 'US holds firm as NATO allies increasingly loosen Ukraine military shackles',
    publishedAt: '2024-05-29',
    label: 'A0 "US holds firm…"',
  },
  {
    file: '001_bae460eb3d8d338a.txt',
    title: 'Tensions rise as US approves Ukrainian strikes inside Russia with America-supplied weapons',
    publishedAt: '2024-05-31',
    label: 'A1 "Tensions rise…"',
  },
  {
    file: '002_8134f3d1ee52e8fc.txt',
    title: 'The urgency from Kyiv has prompted Western officials to consider removing restrictions on hitting targets inside Russia',
    publishedAt: '2024-05-29',
    label: 'A2 "The urgency from Kyiv…"',
  },
  {
    file: '003_0fc8491c2debde37.txt',
    title: 'Ukraine setbacks nudge Biden toward allowing use of U.S. weapons in Russia',
    publishedAt: '2024-05-30',
    label: 'A3 "Ukraine setbacks nudge Biden…"',
  },
  {
    file: '004_3927557de837501e.txt',
    title: 'Joe Biden allows Ukraine to use US weapons to attack Russian territory',
    publishedAt: '2024-05-30',
    label: 'A4 "Joe Biden allows Ukraine…"',
  },
];

export function articleByTitle(title: string): SeedArticle | undefined {
  return SEED_ARTICLES.find((a) => a.title === title);
}

/** White space collapsed, typographic quotes and apostrophes made plain: how quotes are compared with the text. */
export function normaliseText(text: string): string {
  return text
    .replace(/[\u2018\u2019\u201A\u201B\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"')
    .replace(/\s+/g, ' ')
    .trim();
}
