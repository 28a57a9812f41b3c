// How /explain names a country in its sentences: the name English uses, with "the" where it takes one.
import { describe, expect, it } from 'vitest';
import { countryNameInProse } from '../../events/vocabulary.js';
import { countryInSentence } from '../../projections/explain.js';

const inSentence = (code: string) => countryInSentence(countryNameInProse(code)!);

describe('a country named in a sentence', () => {
  it('is the name English writes, with "the" for a republic, a kingdom, states, islands and a few others', () => {
    expect(['US', 'GB', 'NL', 'DE', 'FR', 'CZ', 'RU', 'IR', 'SY', 'AE', 'SB', 'PS', 'GM', 'DO'].map(inSentence)).toEqual([
      'the United States of America',
      'the United Kingdom',
      'the Netherlands',
      'Germany',
      'France',
      'the Czech Republic',
      'the Russian Federation',
      'the Islamic Republic of Iran',
      'the Syrian Arab Republic',
      'the United Arab Emirates',
      'the Solomon Islands',
      'the State of Palestine',
      'the Gambia',
      'the Dominican Republic',
    ]);
  });

  it('is never an index form or an abbreviation', () => {
    expect(['MK', 'MD', 'TW', 'VA', 'FM', 'VG'].map(inSentence)).toEqual([
      'North Macedonia',
      'the Republic of Moldova',
      'Taiwan',
      'the Holy See',
      'the Federated States of Micronesia',
      'the British Virgin Islands',
    ]);
  });
});
