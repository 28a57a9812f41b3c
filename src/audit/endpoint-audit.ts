// The webhook endpoints' state, audited as the read model is: folded afresh from
// their events in the log (the same `evolveEndpoint` the live projection runs) and
// compared with what the service keeps in webhooks.db, as it stood at the position
// compared. A difference names the endpoint and the field; sealed secrets are named,
// never shown.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { StoredEvent } from '../../events/envelope.js';
import { isEndpointStream, isWebhookEndpointEventType } from '../../events/webhook-endpoint.js';
import { decodeEndpointEvent, evolveEndpoint, type Endpoint } from '../webhooks/endpoint.js';
import { describeDifferences } from './diff.js';

/** The endpoint events of a page of the log: few, kept to fold once the replay has its position. */
export function endpointEventsOf(events: readonly StoredEvent[]): StoredEvent[] {
  return events.filter((event) => isEndpointStream(event.streamId) && isWebhookEndpointEventType(event.type));
}

/** Every endpoint as the log makes it after `position`. */
export function foldEndpoints(events: readonly StoredEvent[], position: number): Map<string, Endpoint> {
  const endpoints = new Map<string, Endpoint>();
  for (const event of events) {
    if (event.position > position) break;
    const decoded = decodeEndpointEvent(event);
    const after = evolveEndpoint(endpoints.get(decoded.data.endpointId), decoded);
    if (after) endpoints.set(after.id, after);
  }
  return endpoints;
}

/**
 * Compares the endpoints the log makes with the live ones in `webhooksFile` (read only), at
 * `position` or at the live endpoint projection's checkpoint if that is behind it. No file:
 * nothing live to compare (a log imported elsewhere).
 */
export function compareEndpoints(events: readonly StoredEvent[], webhooksFile: string, position: number): string[] {
  if (!existsSync(webhooksFile)) return [];
  const db = new Database(webhooksFile, { readonly: true, fileMustExist: true });
  try {
    const checkpoint = db.prepare<[], { value: number }>("SELECT value FROM checkpoints WHERE name = 'endpoints'").get()?.value ?? 0;
    const at = Math.min(position, checkpoint);
    const live = new Map<string, Endpoint>();
    const rows = db.prepare<[number], { state: string }>('SELECT state FROM endpoint_versions WHERE position <= ? ORDER BY endpoint_id, position').all(at);
    for (const row of rows) {
      const endpoint = JSON.parse(row.state) as Endpoint;
      live.set(endpoint.id, endpoint);
    }
    return endpointDifferences(live, foldEndpoints(events, at));
  } finally {
    db.close();
  }
}

/** Sealed secrets are named where they differ, never shown. */
const sealed = (path: readonly (string | number)[]) => path.includes('secrets');

export function endpointDifferences(live: ReadonlyMap<string, Endpoint>, replay: ReadonlyMap<string, Endpoint>): string[] {
  const lines: string[] = [];
  for (const id of [...new Set([...live.keys(), ...replay.keys()])].sort()) {
    const a = live.get(id);
    const b = replay.get(id);
    if (!a) lines.push(`endpoints/${id}: live has nothing, replay has the endpoint`);
    else if (!b) lines.push(`endpoints/${id}: live has the endpoint, replay has nothing`);
    else lines.push(...describeDifferences(`endpoints/${id}`, a, b, sealed));
  }
  return lines;
}
