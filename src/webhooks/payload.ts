// What a delivery's body says. The Standard Webhooks envelope {type, timestamp,
// data}; `data` is the change's data plus four fields of ours:
//   changeId   the change id, also sent as the webhook-id header
//   country    the country it is about
//   position   the log position of the event that caused it (replay from here)
//   sequence   1, 2, 3, ... per endpoint, in the order of the change feed, the
//              same on every replica and on every retry or replay of a change,
//              so a receiver can see a gap and put what arrives in order (null in
//              a replay of a change the endpoint never had numbered; changes made
//              while it was disabled are numbered, so they show as a gap)
// `timestamp` is when the change was recorded. A test ping has type
// `webhook.test` and no position or sequence.
import type { Change } from '../../projections/changes.js';

const SEQUENCE_KEY = ',"sequence":';

/**
 * A change's body up to its sequence number, built (and stored) once for every
 * endpoint: `sequence` goes last in `data`, which ends the document.
 */
export function changeBodyPrefix(change: Change): string {
  const data = { ...change.data, changeId: change.id, country: change.country, position: change.position };
  const json = JSON.stringify({ type: change.type, timestamp: change.recordedAt, data });
  return `${json.slice(0, -2)}${SEQUENCE_KEY}`;
}

/** What is sent: a change's prefix completed with the endpoint's sequence number, or a whole body (a ping). */
export function deliveryBody(stored: string, sequence: number | null): string {
  return stored.endsWith(SEQUENCE_KEY) ? `${stored}${sequence ?? 'null'}}}` : stored;
}

export function changeBody(change: Change): (sequence: number) => string {
  const prefix = changeBodyPrefix(change);
  return (sequence) => deliveryBody(prefix, sequence);
}

export function testBody(endpointId: string, at: number): string {
  return JSON.stringify({
    type: 'webhook.test',
    timestamp: new Date(at).toISOString(),
    data: { endpointId, message: 'a test delivery from the policy-state service' },
  });
}
