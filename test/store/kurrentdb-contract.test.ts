// The event-store contract against a real KurrentDB server, when one is given:
//   KURRENTDB_URL='kurrentdb://127.0.0.1:2113?tls=false' npx vitest run test/store/kurrentdb-contract.test.ts
// (docker/compose.single.yml starts one). Without KURRENTDB_URL the suite is
// reported as skipped, with the reason. Every test writes to streams of its own
// (contract-<uuid>), so it can run against a server that holds other data.
import { describe, it } from 'vitest';
import { KurrentDbEventStore } from '../../src/store/kurrentdb-event-store.js';
import { eventStoreContract } from './contract.js';

const url = process.env.KURRENTDB_URL;
const SKIP_REASON = 'KurrentDB contract suite skipped: KURRENTDB_URL is not set (e.g. kurrentdb://127.0.0.1:2113?tls=false)';

if (!url) {
  console.info(SKIP_REASON);
  describe('KurrentDB server', () => {
    it.skip(SKIP_REASON, () => undefined);
  });
}

describe.skipIf(!url)('KurrentDB server', () => {
  eventStoreContract(`KurrentDB at ${url ? new URL(url.replace(/^[a-z+]+:/i, 'http:')).host : '(none)'}`, async () => {
    const store = KurrentDbEventStore.connect(url!, { streamPrefixes: ['contract-'] });
    return { store, cleanup: () => store.close() };
  });
});
