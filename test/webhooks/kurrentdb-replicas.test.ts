// Two service replicas on one KurrentDB log (the in-memory stand-in; no server
// here), each with its own DATA_DIR, sharing webhook dispatch through the
// persistent subscription group: every change reaches the receiver, none from
// both replicas, and a replica that goes away mid-way hands its unacked events
// to the other. Everything but the client is the real service.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Tokens } from '../../src/composition.js';
import type { GroupEvent, GroupOutcome } from '../../src/store/kurrentdb/group.js';
import { PersistentDispatch, WEBHOOK_DISPATCH_GROUP } from '../../src/webhooks/persistent-dispatch.js';
import type { Webhooks } from '../../src/webhooks/webhooks.js';
import type { WebhookSettings } from '../../src/webhooks/settings.js';
import { dispatchJournalStream } from '../../events/webhook-dispatch.js';
import { KurrentDbEventStore } from '../../src/store/kurrentdb-event-store.js';
import { StandInKurrentDB, accessDenied } from '../store/kurrentdb-stand-in.js';
import { tempDir } from '../helpers/temp-dir.js';
import { client, startReceiver, startWebhookService, statement, type Receiver, type TestService } from './helpers.js';

const servers = vi.hoisted(() => new Map<string, { client(): unknown }>());

vi.mock('@kurrent/kurrentdb-client', (importOriginal) => import('../store/kurrentdb-client-mock.js').then((m) => m.withStandIns(importOriginal, servers)));


const SECRETS_KEY = randomBytes(32).toString('base64'); // shared: an endpoint's secret is sealed by the replica that created it
const COUNTRIES = ['US', 'FR', 'DE', 'GB', 'CA', 'BE', 'NL', 'PL'];

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function cluster(label: string) {
  const url = `kurrentdb://stand-in-${label}-${randomBytes(4).toString('hex')}:2113?tls=false`;
  const server = new StandInKurrentDB();
  servers.set(url, server);
  const start = async (dataDir?: string, settings: Partial<WebhookSettings> = {}) => {
    const replica = await startWebhookService({ env: { EVENT_STORE: 'kurrentdb', KURRENTDB_URL: url }, settings: { secretsKey: SECRETS_KEY, ...settings }, dataDir });
    return replica;
  };
  return { server, start };
}

/** Two replicas over one stand-in server, both consuming the group, and a receiver. */
async function twoReplicas(label: string) {
  const { server, start } = await cluster(label);
  const a = await start();
  cleanup.push(() => a.stop());
  const b = await start();
  cleanup.push(() => b.stop());
  const receiver = await startReceiver();
  cleanup.push(() => receiver.close());
  await expect.poll(() => server.groups.get(WEBHOOK_DISPATCH_GROUP)?.consumers.length ?? 0).toBe(2);
  return { server, start, a, b, receiver };
}

function dispatchOf(replica: TestService): PersistentDispatch {
  const dispatcher = replica.container.resolve<Webhooks>(Tokens.Webhooks).dispatcher;
  expect(dispatcher).toBeInstanceOf(PersistentDispatch);
  return dispatcher as PersistentDispatch;
}

/** Waits until the group has handed its consumers every event and all were acked or parked. */
async function groupSettled(server: StandInKurrentDB) {
  const group = server.groups.get(WEBHOOK_DISPATCH_GROUP)!;
  await expect.poll(() => group.queue.length + group.consumers.reduce((n, c) => n + c.inFlight.size, 0), { timeout: 15_000 }).toBe(0);
}

/** Ids received with a 2xx, and how many times each. */
function counts(receiver: Receiver): Map<string, number> {
  const seen = new Map<string, number>();
  for (const r of receiver.received) if (r.status !== undefined && r.status < 300) seen.set(String(r.headers['webhook-id']), (seen.get(String(r.headers['webhook-id'])) ?? 0) + 1);
  return seen;
}

describe('webhook dispatch shared by two replicas on KurrentDB', () => {
  it('delivers every change once, each log event dispatched by exactly one replica', async () => {
    const { server, a, b, receiver } = await twoReplicas('pair');

    await client(a).createEndpoint({ url: receiver.url });
    for (const [i, country] of COUNTRIES.entries()) {
      const writer = i % 2 === 0 ? client(a) : client(b);
      await writer.record(statement(`pair-${i}`, { country, stance: i % 2 ? 'permits' : 'prohibits' }));
      await writer.record(statement(`pair-${i}-back`, { country, stance: 'permits', effectiveAt: '2024-01-10', reportedAt: '2024-05-29' }));
    }
    await groupSettled(server);
    // Both replicas derived the same changes.
    const changes = await client(a).changes();
    expect(await client(b).changes()).toEqual(changes);
    expect(changes.length).toBeGreaterThan(COUNTRIES.length * 2);

    await expect.poll(() => receiver.ids().size, { timeout: 10_000 }).toBe(changes.length);
    expect(receiver.ids()).toEqual(new Set(changes.map((c) => c.id)));
    // None twice: not from both replicas, not from one.
    expect([...counts(receiver).values()].every((n) => n === 1)).toBe(true);
    expect(receiver.received.length).toBe(changes.length);

    // One numbering per endpoint, whichever replica sent: 1..n without a gap or a repeat, in the order of the changes.
    const sequenceOf = new Map(receiver.received.map((r) => [String(r.headers['webhook-id']), r.json.data.sequence]));
    expect(changes.map((c) => sequenceOf.get(c.id))).toEqual(changes.map((_, i) => i + 1));

    // The work was shared, and each position went to one replica only.
    const byA = dispatchOf(a).dispatched;
    const byB = dispatchOf(b).dispatched;
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
    expect(byA.filter((p) => byB.includes(p))).toEqual([]);
    const positions = new Set(changes.map((c) => c.position));
    for (const p of positions) expect(byA.includes(p) || byB.includes(p)).toBe(true);
    // Each delivery came from the replica that dispatched its position.
    const senders = new Map<string, string>();
    for (const [name, replica] of [['a', a], ['b', b]] as const) {
      const db = new Database(path.join(replica.dataDir, 'webhooks.db'), { readonly: true });
      for (const row of db.prepare<[], { message_id: string }>("SELECT message_id FROM deliveries WHERE origin = 'live'").all()) {
        expect(senders.has(row.message_id)).toBe(false);
        senders.set(row.message_id, name);
      }
      db.close();
    }
    expect(senders.size).toBe(changes.length);
  });

  it('a replica closed with events unacked hands them to the other, and nothing is lost', async () => {
    const { server, start } = await cluster('kill');
    const dirA = tempDir('policy-state-replica-a-');
    cleanup.push(() => dirA.cleanup());
    let a = await start(dirA.dir);
    const b = await start();
    cleanup.push(() => b.stop());
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const group = () => server.groups.get(WEBHOOK_DISPATCH_GROUP)!;
    await expect.poll(() => group()?.consumers.length ?? 0).toBe(2);
    await client(b).createEndpoint({ url: receiver.url });
    await groupSettled(server);

    // Replica A hangs on what it is handed (as a replica that is about to die does): its events stay unacked.
    const hanging = dispatchOf(a);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const handle = hanging.handle.bind(hanging);
    hanging.handle = async (message: GroupEvent): Promise<GroupOutcome> => {
      await released;
      return handle(message);
    };
    const consumerA = group().consumers.find((c) => c.number === 1)!;

    for (const [i, country] of COUNTRIES.entries()) await client(b).record(statement(`kill-${i}`, { country }));
    await expect.poll(() => consumerA.inFlight.size).toBeGreaterThan(1);
    const heldByA = [...consumerA.inFlight.keys()];

    // A goes away mid-way: it finishes the event in hand and leaves the rest unacked.
    const stopping = hanging.stop();
    release();
    await stopping;
    await a.stop().catch(() => undefined);
    expect(group().handedBack.length).toBeGreaterThan(0);
    expect(heldByA).toEqual(expect.arrayContaining(group().handedBack));
    // What A gave back went to B.
    for (const id of group().handedBack) {
      expect(group().handedOut.some((h) => h.id === id && h.consumer === 2 && h.retryCount > 0)).toBe(true);
    }
    await groupSettled(server);

    const changes = await client(b).changes();
    expect(changes.length).toBeGreaterThanOrEqual(COUNTRIES.length);
    const all = new Set(changes.map((c) => c.id));
    // Everything reached the receiver, or is queued in A's webhooks.db (acked by A: it waits for A to come back).
    const queuedInA = () => {
      const db = new Database(path.join(dirA.dir, 'webhooks.db'), { readonly: true });
      const ids = db.prepare<[], { message_id: string }>("SELECT message_id FROM deliveries WHERE status IN ('pending', 'sending')").all().map((r) => r.message_id);
      db.close();
      return ids;
    };
    await expect.poll(() => new Set([...receiver.ids(), ...queuedInA()]).size, { timeout: 10_000 }).toBe(all.size);

    // A back on its DATA_DIR sends what it had queued; all arrive, none twice.
    a = await start(dirA.dir);
    cleanup.push(() => a.stop());
    await expect.poll(() => receiver.ids().size, { timeout: 10_000 }).toBe(all.size);
    expect(receiver.ids()).toEqual(all);
    expect([...counts(receiver).values()].every((n) => n === 1)).toBe(true);
  });

  it('a replica that dies for good with retries pending: another takes them over when its lease runs out, and it cancels them if it comes back', async () => {
    const { server, start } = await cluster('lease');
    // Retries a minute apart: within the test only a takeover sends anything again.
    const settings = { retryScheduleMs: [0, 60_000], retryJitter: 0, dispatchLeaseMs: 300 };
    const dirA = tempDir('policy-state-replica-a-');
    cleanup.push(() => dirA.cleanup());
    let a = await start(dirA.dir, settings);
    const b = await start(undefined, settings);
    cleanup.push(() => b.stop());
    let up = false;
    const receiver = await startReceiver(() => ({ status: up ? 200 : 503 }));
    cleanup.push(() => receiver.close());
    await expect.poll(() => server.groups.get(WEBHOOK_DISPATCH_GROUP)?.consumers.length ?? 0).toBe(2);
    await client(b).createEndpoint({ url: receiver.url });
    // Recorded two at a time, so both replicas are handed some (the stand-in hands out round robin).
    for (let i = 0; i < COUNTRIES.length; i += 2) {
      await Promise.all([0, 1].map((j) => client(b).record(statement(`lease-${i + j}`, { country: COUNTRIES[i + j] }))));
    }
    await groupSettled(server);
    const changes = await client(b).changes();
    // Every change tried once and refused; each replica holds its share for a retry.
    await expect.poll(() => new Set(receiver.received.map((r) => String(r.headers['webhook-id']))).size, { timeout: 10_000 }).toBe(changes.length);
    const shareOf = (dir: string) => {
      const db = new Database(path.join(dir, 'webhooks.db'), { readonly: true });
      const rows = db.prepare<[], { message_id: string; sequence: number; status: string }>("SELECT message_id, sequence, status FROM deliveries WHERE origin = 'live'").all();
      db.close();
      return rows;
    };
    // The refusals recorded: A's share waits for its retry.
    await expect.poll(() => shareOf(dirA.dir).every((r) => r.status === 'pending'), { timeout: 10_000 }).toBe(true);
    const shareOfA = shareOf(dirA.dir);
    expect(shareOfA.length).toBeGreaterThan(0);
    const firstSequence = new Map(receiver.received.map((r) => [String(r.headers['webhook-id']), r.json.data.sequence]));

    // A goes away and does not come back for now; the receiver recovers.
    await a.stop();
    up = true;
    // B takes A's share over once A's lease has run out, and sends it at once, with the same sequence numbers.
    await expect.poll(() => shareOfA.every((r) => receiver.ids().has(r.message_id)), { timeout: 10_000 }).toBe(true);
    for (const r of receiver.received.filter((x) => x.status === 200)) expect(r.json.data.sequence).toBe(firstSequence.get(String(r.headers['webhook-id'])));
    const journal = new KurrentDbEventStore(server.client() as never, 'stand-in:2113');
    const streams = [...new Set((await journal.readAll({ after: 0, limit: 10_000 })).map((e) => e.streamId).filter((id) => id.startsWith('webhook-dispatcher-')))];
    expect(streams).toHaveLength(2);
    const takeovers = (await Promise.all(streams.map((id) => journal.readStream(id)))).flat().filter((e) => e.type === 'WebhookDispatchTakenOver');
    expect(takeovers).toHaveLength(1);
    const idOf = (replica: TestService) => dispatchOf(replica).journal.replicaId;
    expect(takeovers[0].streamId).toBe(dispatchJournalStream(idOf(a)));
    expect(takeovers[0].data).toMatchObject({ replicaId: idOf(b), from: idOf(a) });
    await journal.close();

    // A back on its DATA_DIR finds the takeover in its journal and cancels what it had left: nothing goes out twice.
    a = await start(dirA.dir, settings);
    cleanup.push(() => a.stop());
    await expect.poll(() => shareOf(dirA.dir).every((r) => r.status === 'cancelled'), { timeout: 10_000 }).toBe(true);
    expect([...counts(receiver).values()].every((n) => n === 1)).toBe(true);
  });

  it('a replica started on a new DATA_DIR under the same WEBHOOK_REPLICA_ID sends again what its journal says it had pending', async () => {
    const { server, start } = await cluster('orphans');
    const settings = { retryScheduleMs: [0, 60_000], retryJitter: 0, dispatchLeaseMs: 300, replicaId: 'api-1' };
    let a = await start(undefined, settings);
    let up = false;
    const receiver = await startReceiver(() => ({ status: up ? 200 : 503 }));
    cleanup.push(() => receiver.close());
    await expect.poll(() => server.groups.get(WEBHOOK_DISPATCH_GROUP)?.consumers.length ?? 0).toBe(1);
    await client(a).createEndpoint({ url: receiver.url });
    for (const [i, country] of COUNTRIES.slice(0, 3).entries()) await client(a).record(statement(`orphan-${i}`, { country }));
    await groupSettled(server);
    const changes = await client(a).changes();
    await expect.poll(() => new Set(receiver.received.map((r) => String(r.headers['webhook-id']))).size, { timeout: 10_000 }).toBe(changes.length);
    // Its DATA_DIR is lost with the pending retries in it; it comes back under the same name.
    await a.stop();
    up = true;
    a = await start(undefined, settings);
    cleanup.push(() => a.stop());
    await expect.poll(() => receiver.ids().size, { timeout: 10_000 }).toBe(changes.length);
    expect(receiver.ids()).toEqual(new Set(changes.map((c) => c.id)));
  });
  it('events the group hands out again after a leader change go out once: the replica that did not claim them passes them over', async () => {
    const { server, a, b, receiver } = await twoReplicas('leader');
    await client(a).createEndpoint({ url: receiver.url });
    await groupSettled(server);
    const group = server.groups.get(WEBHOOK_DISPATCH_GROUP)!;
    const checkpointed = group.acked.length;
    for (const [i, country] of COUNTRIES.entries()) await client(i % 2 ? b : a).record(statement(`leader-${i}`, { country }));
    await groupSettled(server);
    const changes = await client(a).changes();
    await expect.poll(() => receiver.ids().size, { timeout: 10_000 }).toBe(changes.length);
    expect(dispatchOf(a).dispatched.length).toBeGreaterThan(0);
    expect(dispatchOf(b).dispatched.length).toBeGreaterThan(0);

    // The new leader resumes the group from a checkpoint older than these acks: every event since is handed out again.
    server.resumeFromCheckpoint(WEBHOOK_DISPATCH_GROUP, checkpointed);
    await expect.poll(() => group.consumers.length, { timeout: 10_000 }).toBe(2);
    await groupSettled(server);
    await new Promise((resolve) => setTimeout(resolve, 500)); // time for a second send to arrive, were there one
    expect([...counts(receiver).values()].every((n) => n === 1)).toBe(true);
    expect(receiver.received.length).toBe(changes.length);
    // Each replica passed over what the other had claimed.
    expect(dispatchOf(a).passedOver.length + dispatchOf(b).passedOver.length).toBeGreaterThan(0);
    expect(dispatchOf(a).passedOver.every((p) => dispatchOf(b).dispatched.includes(p))).toBe(true);
    expect(dispatchOf(b).passedOver.every((p) => dispatchOf(a).dispatched.includes(p))).toBe(true);
  });

  it('a replica that claimed an event and died before queueing it: the other passes the event over, then takes it over when the lease runs out', async () => {
    const { server, start } = await cluster('claimed');
    const settings = { dispatchLeaseMs: 300 };
    const a = await start(undefined, settings);
    const b = await start(undefined, settings);
    cleanup.push(() => b.stop());
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    await expect.poll(() => server.groups.get(WEBHOOK_DISPATCH_GROUP)?.consumers.length ?? 0).toBe(2);
    await client(b).createEndpoint({ url: receiver.url });
    await groupSettled(server);

    // A dies just after its claim reached the journal, before its webhooks.db took it and queued the deliveries.
    const dying = dispatchOf(a);
    const claim = dying.journal.claim.bind(dying.journal);
    const claimedByA: number[] = [];
    let died: Promise<void> | undefined;
    dying.journal.claim = async <T>(position: number, messageIds: readonly string[]): Promise<T> => {
      void dying.journal.stop(); // dead: it will not find its own claim missing from its webhooks.db and send it (adoptOrphans)
      await claim(position, messageIds, () => {
        throw new Error('replica A dies here');
      }).catch(() => undefined);
      claimedByA.push(position);
      dying.handle = async () => ({ retry: 'replica A is dying' }); // what it is handed from now on goes back to the group
      died ??= a.stop();
      throw new Error('replica A is dying');
    };
    for (let i = 0; i < COUNTRIES.length; i += 2) {
      await Promise.all([0, 1].map((j) => client(b).record(statement(`claimed-${i + j}`, { country: COUNTRIES[i + j] }))));
    }
    await expect.poll(() => claimedByA.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await died;
    await groupSettled(server);
    const changes = await client(b).changes();

    // B was handed what A had claimed, and passed it over; once A's lease ran out, B took it over and sent it.
    expect(claimedByA).toHaveLength(1);
    expect(dispatchOf(b).passedOver).toEqual(claimedByA);
    await expect.poll(() => receiver.ids().size, { timeout: 10_000 }).toBe(changes.length);
    expect(receiver.ids()).toEqual(new Set(changes.map((c) => c.id)));
    expect([...counts(receiver).values()].every((n) => n === 1)).toBe(true);
    const journal = new KurrentDbEventStore(server.client() as never, 'stand-in:2113');
    const takeovers = (await journal.readStream(dispatchJournalStream(dying.journal.replicaId))).filter((e) => e.type === 'WebhookDispatchTakenOver');
    await journal.close();
    expect(takeovers).toHaveLength(1);
    expect(takeovers[0].data).toMatchObject({ from: dying.journal.replicaId, positions: expect.arrayContaining(claimedByA) });
  });
  it('a replica the server refuses the group says why in its readiness and metrics, and still serves', async () => {
    const { server, start } = await cluster('refused');
    const a = await start();
    cleanup.push(() => a.stop());
    await expect.poll(() => server.groups.get(WEBHOOK_DISPATCH_GROUP)?.consumers.length ?? 0).toBe(1);
    await expect.poll(async () => (await client(a).get('/health/ready')).statusCode).toBe(200);

    server.groupRefusal = accessDenied(); // the next replica's user may not create or consume the group
    const b = await start();
    cleanup.push(() => b.stop());
    await expect.poll(async () => (await client(b).get('/health/ready')).json().webhooks, { timeout: 5_000 }).toContain(
      `KurrentDB refused the persistent subscription group ${WEBHOOK_DISPATCH_GROUP}`,
    );
    const answer = await client(b).get('/health/ready');
    // Reads and writes still work there: a load balancer keeps sending it traffic; the metric is what alerts.
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ ready: true, webhooks: expect.stringContaining('Access denied') });
    expect((await client(b).get('/metrics')).body).toMatch(/^policy_state_webhook_dispatch_stopped 1$/m);
    const healthy = await client(a).get('/health/ready');
    expect(healthy.statusCode).toBe(200);
    expect(healthy.json().webhooks).toBeUndefined();
    expect((await client(a).get('/metrics')).body).toMatch(/^policy_state_webhook_dispatch_stopped 0$/m);
  });
});
