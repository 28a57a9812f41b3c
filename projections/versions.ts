// Each projection declares a version. Change a projection's output and bump
// its version: the service then rebuilds the read model in a shadow while the
// old one keeps serving, and swaps when the shadow has caught up.
export const PROJECTION_VERSIONS = {
  // 2: a statement's row is keyed by its log position.
  statements: 2,
  // 2: a correction replaces what it corrects on every day once known, not from its own effective day.
  positions: 2,
  timelines: 2,
  // 2: a country row keeps the start of today's interval, not the whole timeline.
  countries: 2,
  // 2: change ids are not indexed (they are unique by construction); a statement.recorded
  // change is stored as a reference to its statement's row.
  // 3: a roll over several days writes its changes day by day, then by country, not country by country.
  changes: 3,
  // 2: rows are hashed with XXH3-128 and summed modulo 2^128, not SHA-256 modulo 2^256.
  // 3: the fingerprint after each position is kept in runs of a batch's positions, not a row each.
  // 4: a row is hashed whole, not a country's position or a change's data apart.
  fingerprint: 4,
} as const;

export const PROJECTION_VERSION = Object.entries(PROJECTION_VERSIONS)
  .map(([name, version]) => `${name}@${version}`)
  .join(',');
