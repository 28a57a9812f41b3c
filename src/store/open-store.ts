// Which event store a process opens, as plain data: the service builds it from
// its configuration, and a replay worker opens the same log from it.
import path from 'node:path';
import type { Logger } from 'pino';
import type { EventStore } from './event-store.js';
import { KurrentDbEventStore } from './kurrentdb-event-store.js';
import { SqliteEventStore } from './sqlite-event-store.js';

export type StoreSpec = { kind: 'sqlite'; file: string } | { kind: 'kurrentdb'; url: string };

export function storeSpec(config: { EVENT_STORE: 'sqlite' | 'kurrentdb'; DATA_DIR: string; KURRENTDB_URL?: string }): StoreSpec {
  return config.EVENT_STORE === 'kurrentdb' ? { kind: 'kurrentdb', url: config.KURRENTDB_URL! } : { kind: 'sqlite', file: path.join(config.DATA_DIR, 'events.db') };
}

export function openEventStore(spec: StoreSpec, logger?: Logger): EventStore {
  return spec.kind === 'kurrentdb'
    ? KurrentDbEventStore.connect(spec.url, logger ? { logger: logger.child({ component: 'kurrentdb' }) } : {})
    : new SqliteEventStore(spec.file);
}
