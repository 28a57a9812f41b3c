// A consumer of a persistent subscription group on $all (competing consumers):
// the server hands each event of the group to one consumer, and hands it to
// another when it is nacked with retry or when its consumer goes away unacked.
// What to do with an event is the handler's: it answers ack, retry or park,
// and this module says so to the server. Events handled one at a time, in the
// order they arrive; after a drop it subscribes again (the group remembers
// what was acked, so nothing is skipped; what was unacked comes again).
import { setTimeout as sleep } from 'node:timers/promises';
import {
  END,
  PARK,
  PersistentSubscriptionExistsError,
  RETRY,
  persistentSubscriptionToAllSettingsFromDefaults,
  type Filter,
  type PersistentSubscriptionToAllResolvedEvent,
  type PersistentSubscriptionToAllSettings,
} from '@kurrent/kurrentdb-client';
import type { Logger } from 'pino';
import type { StoredEvent } from '../../../events/envelope.js';
import { isGroupRefusal } from './errors.js';

/** One event of the group, as this service sees it, and how many times it was handed out before. */
export interface GroupEvent {
  event: StoredEvent;
  retryCount: number;
}

export type GroupOutcome = 'ack' | { retry: string } | { park: string };

export type GroupHandler = (message: GroupEvent) => Promise<GroupOutcome>;

/** A group this replica can consume: the port webhook dispatch uses, KurrentDB its one implementation. */
export interface ConsumerGroup {
  readonly name: string;
  /** `onFailure`: the consumer stopped on an error no retry cures (it says which). */
  consume(handler: GroupHandler, onFailure?: (error: Error) => void): GroupConsumer;
}

export interface GroupConsumer {
  /** Finishes the event in hand, then leaves: events received and not handled go back to the group. */
  close(): Promise<void>;
}

type GroupFeed = NodeJS.ReadableStream & {
  ack(...events: PersistentSubscriptionToAllResolvedEvent[]): Promise<void>;
  nack(action: typeof PARK | typeof RETRY, reason: string, ...events: PersistentSubscriptionToAllResolvedEvent[]): Promise<void>;
  unsubscribe(): Promise<void>;
};

export interface GroupClient {
  createPersistentSubscriptionToAll(group: string, settings: PersistentSubscriptionToAllSettings, options: { filter: Filter }): Promise<void>;
  getPersistentSubscriptionToAllInfo(group: string): Promise<{ settings: PersistentSubscriptionToAllSettings }>;
  updatePersistentSubscriptionToAll(group: string, settings: PersistentSubscriptionToAllSettings): Promise<void>;
  subscribeToPersistentSubscriptionToAll(group: string, options: { bufferSize: number }): unknown;
}

export interface ConsumeOptions {
  /**
   * The client to use, asked again before every subscription: the store replaces a client that
   * can no longer discover the cluster (errors.ts, isDiscoveryFailure).
   */
  client: () => GroupClient;
  group: string;
  filter: Filter;
  /** The service's event, or undefined for a record to pass over (acked at once). */
  accept: (item: PersistentSubscriptionToAllResolvedEvent) => StoredEvent | undefined;
  handler: GroupHandler;
  logger?: Logger;
  /** Events the server may hand this consumer before it acks. */
  bufferSize?: number;
  /** Longer than the handler may take (it waits for the read model, then writes webhooks.db). */
  messageTimeoutMs?: number;
  /** The server parks an event after this many retries even if the handler does not. */
  maxRetryCount?: number;
  retryDelayMs?: number;
  /** Called once when the server refuses the group for good (errors.ts, isGroupRefusal): the consumer has stopped. */
  onFailure?: (error: Error) => void;
  /** Told of every error the consumer subscribes again after, with the client it came from. */
  onDrop?: (error: unknown, client: GroupClient) => void;
}

/**
 * The settings this version wants the group to have.
 * - RoundRobin, not Pinned: the server's Pinned strategy can write a checkpoint past
 *   events it skipped for a busy consumer, and lose them after a restart (KurrentDB
 *   #5497, fixed in 2026, backported to 24.10 in #5615; not in 25.0.1). Pinned bought
 *   an order across replicas that hand-overs and retries broke anyway.
 * - A checkpoint after every ack, at most a second late (defaults: 10 acks and 2 s):
 *   fewer acked events handed out again after a leader change. Those are passed over
 *   by the replica handed them anyway (persistent-dispatch.ts); this only narrows it.
 */
function groupSettings(options: ConsumeOptions): Partial<PersistentSubscriptionToAllSettings> {
  return {
    consumerStrategyName: 'RoundRobin',
    messageTimeout: options.messageTimeoutMs ?? 60_000,
    maxRetryCount: options.maxRetryCount ?? 20,
    checkPointAfter: 1_000,
    checkPointLowerBound: 1,
  };
}

/**
 * Creates the group if it is not there yet: from the end of $all (a new deployment
 * starts with what comes next). A group there already, created by an earlier version
 * (with Pinned, say), is brought to the settings above.
 */
export async function ensureGroup(options: ConsumeOptions, client: GroupClient): Promise<void> {
  const wanted = groupSettings(options);
  try {
    await client.createPersistentSubscriptionToAll(options.group, persistentSubscriptionToAllSettingsFromDefaults({ startFrom: END, ...wanted }), { filter: options.filter });
    return;
  } catch (error) {
    if (isGroupRefusal(error)) return mayNotManage(options, error);
    if (!(error instanceof PersistentSubscriptionExistsError)) throw error;
  }
  try {
    await bringUpToDate(options, client, wanted);
  } catch (error) {
    if (isGroupRefusal(error)) return mayNotManage(options, error);
    throw error;
  }
}

/**
 * The user may consume the group but not create or update it (not in $ops): an admin creates
 * it with the settings above, and this replica only consumes it. The server checks the
 * permission before it looks for the group, so a refused create says nothing of whether it
 * exists: subscribing tells (a group not there yet is waited for, as any drop).
 */
function mayNotManage(options: ConsumeOptions, error: unknown): void {
  options.logger?.warn(
    { err: error, group: options.group },
    "may not create or update the persistent subscription group; consuming it as it is (an admin creates it, with the settings docs/kurrentdb.md lists)",
  );
}

/**
 * Updates the group, its own settings kept but for ours (its start position included,
 * which only counts while it has no checkpoint): an update keeps the group's checkpoint
 * (its checkpoint stream outlives it; only a delete removes it), so nothing acked comes
 * again and nothing waiting is lost, which deleting and creating it again would do.
 */
async function bringUpToDate(options: ConsumeOptions, client: GroupClient, wanted: Partial<PersistentSubscriptionToAllSettings>): Promise<void> {
  const { settings } = await client.getPersistentSubscriptionToAllInfo(options.group);
  const changed = (Object.keys(wanted) as Array<keyof PersistentSubscriptionToAllSettings>).filter((key) => settings[key] !== wanted[key]);
  if (changed.length === 0) return;
  await client.updatePersistentSubscriptionToAll(options.group, { ...settings, ...wanted });
  options.logger?.info({ group: options.group, changed: Object.fromEntries(changed.map((key) => [key, { from: settings[key], to: wanted[key] }])) }, 'brought the persistent subscription group to the settings of this version');
}

/**
 * The server refuses this replica the group, and will until an operator changes
 * something: the consumer stops, and says so where readiness reads it, rather than
 * retry for ever while no webhook is sent.
 */
function refused(options: ConsumeOptions, error: unknown): void {
  const reason = error instanceof Error && error.message ? error.message : String(error);
  const failure = new Error(
    `KurrentDB refused the persistent subscription group ${options.group} (${reason}); webhook dispatch stopped on this replica. ` +
      'The service\'s user (or the credentials in KURRENTDB_URL) needs read access to $all to consume it, and $admins or $ops to create ' +
      'or update it (or an admin creates it). Restart the replica once that is put right',
    { cause: error },
  );
  options.logger?.error({ err: error, group: options.group }, failure.message);
  options.onFailure?.(failure);
}

export function consumeGroup(options: ConsumeOptions): GroupConsumer {
  let closed = false;
  let feed: GroupFeed | undefined;
  let inHand: Promise<void> = Promise.resolve();
  let wakeUp: (() => void) | undefined;
  const stopping = new AbortController();

  const handleOne = async (item: PersistentSubscriptionToAllResolvedEvent, from: GroupFeed) => {
    if (closed || from !== feed) return; // left unacked: it goes back to the group
    try {
      const event = options.accept(item);
      const outcome: GroupOutcome = event ? await options.handler({ event, retryCount: item.retryCount ?? 0 }) : 'ack';
      if (outcome === 'ack') await from.ack(item);
      else if ('retry' in outcome) await from.nack(RETRY, outcome.retry, item);
      else await from.nack(PARK, outcome.park, item);
    } catch (error) {
      // The ack did not reach the server (a drop): it hands the event out again, at least once.
      options.logger?.warn({ err: error, group: options.group }, 'could not settle an event of the persistent subscription');
    }
  };

  const run = async () => {
    let attempt = 0;
    while (!closed) {
      const client = options.client();
      try {
        await ensureGroup(options, client);
        const current = client.subscribeToPersistentSubscriptionToAll(options.group, { bufferSize: options.bufferSize ?? 16 }) as GroupFeed;
        feed = current;
        await new Promise<void>((resolve, reject) => {
          wakeUp = resolve;
          current.on('data', (item: PersistentSubscriptionToAllResolvedEvent) => {
            attempt = 0;
            inHand = inHand.then(() => handleOne(item, current));
          });
          current.once('error', reject);
          current.once('end', resolve);
        });
      } catch (error) {
        if (closed) break;
        if (isGroupRefusal(error)) {
          refused(options, error);
          break;
        }
        attempt += 1;
        options.onDrop?.(error, client);
        options.logger?.warn({ err: error, group: options.group, attempt }, 'the persistent subscription dropped; subscribing again');
      }
      feed = undefined;
      if (!closed) await sleep(Math.min(options.retryDelayMs ?? 500 * 2 ** Math.min(attempt, 5), 15_000), undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  };
  const running = run();

  return {
    close: async () => {
      if (closed) return;
      closed = true;
      await inHand;
      const current = feed;
      feed = undefined;
      await current?.unsubscribe().catch(() => undefined);
      wakeUp?.();
      stopping.abort();
      await running;
    },
  };
}
