// The pure parts, given/when/then: an endpoint's state from its events, the
// retry schedule, the payload and the signature.
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../events/envelope.js';
import { endpointStream, newEndpointEvent, type WebhookEndpointEventType } from '../../events/webhook-endpoint.js';
import type { Change } from '../../projections/changes.js';
import { decodeEndpointEvent, evolveEndpoint, signingKeys, wants, type Endpoint } from '../../src/webhooks/endpoint.js';
import { changeBody } from '../../src/webhooks/payload.js';
import { retryAfterMs } from '../../src/webhooks/delivery-client.js';
import { nextDelay } from '../../src/webhooks/retry-policy.js';
import { loadWebhookSettings, DEFAULT_RETRY_SCHEDULE_MS } from '../../src/webhooks/settings.js';
import { generateSecret, signatureHeader } from '../../src/webhooks/signing.js';

const ID = 'ep_modeltest0001';
const SEALED = (n: number) => `v1.aXY${n}.dGFn.Y2lwaGVy`;

function history(...steps: Array<[WebhookEndpointEventType, Record<string, unknown>, string]>): Endpoint | undefined {
  const events: StoredEvent[] = steps.map(([type, data, recordedAt], i) => ({
    ...newEndpointEvent(type, { endpointId: ID, ...data } as never),
    eventId: randomUUID(),
    streamId: endpointStream(ID),
    streamRevision: i,
    position: 10 + i,
    recordedAt,
  }));
  return events.map(decodeEndpointEvent).reduce<Endpoint | undefined>(evolveEndpoint, undefined);
}

const created: [WebhookEndpointEventType, Record<string, unknown>, string] = [
  'WebhookEndpointCreated',
  { url: 'https://hooks.example/policy', secret: SEALED(1), types: ['position.changed'], countries: ['US'] },
  '2024-06-01T10:00:00.000Z',
];

describe('an endpoint, from its events', () => {
  it('is created enabled, with its filters and one secret', () => {
    expect(history(created)).toMatchObject({ id: ID, enabled: true, disabled: null, deleted: false, createdPosition: 10, secrets: [{ sealed: SEALED(1), until: null }] });
  });

  it('after a rotation signs with both secrets until the overlap ends, then with the new one only', () => {
    const rotated = history(created, ['WebhookEndpointSecretRotated', { secret: SEALED(2), previousValidUntil: '2024-06-02T10:00:00.000Z' }, '2024-06-01T10:00:00.000Z'])!;
    expect(signingKeys(rotated, Date.parse('2024-06-02T09:59:59Z')).map((k) => k.sealed)).toEqual([SEALED(2), SEALED(1)]);
    expect(signingKeys(rotated, Date.parse('2024-06-02T10:00:00Z')).map((k) => k.sealed)).toEqual([SEALED(2)]);
  });

  it('a second rotation drops the secret rotated out before', () => {
    const twice = history(
      created,
      ['WebhookEndpointSecretRotated', { secret: SEALED(2), previousValidUntil: '2024-06-02T10:00:00.000Z' }, '2024-06-01T10:00:00.000Z'],
      ['WebhookEndpointSecretRotated', { secret: SEALED(3), previousValidUntil: '2024-06-02T11:00:00.000Z' }, '2024-06-01T11:00:00.000Z'],
    )!;
    expect(twice.secrets.map((k) => k.sealed)).toEqual([SEALED(3), SEALED(2)]);
  });

  it('disabled, keeps an endpoint.disabled note saying why and where a replay starts; enabled, drops it', () => {
    const disabled = history(created, ['WebhookEndpointDisabled', { reason: 'failing', detail: 'five days', failingSince: '2024-05-27T10:00:00.000Z', replayAfter: 41 }, '2024-06-01T10:00:00.000Z'])!;
    expect(disabled).toMatchObject({ enabled: false, disabled: { type: 'endpoint.disabled', reason: 'failing', replayAfter: 41, position: 11, failingSince: '2024-05-27T10:00:00.000Z' } });
    const enabled = history(created, ['WebhookEndpointDisabled', { reason: 'gone', detail: '410', replayAfter: 3 }, '2024-06-01T10:00:00.000Z'], ['WebhookEndpointEnabled', {}, '2024-06-01T12:00:00.000Z'])!;
    expect(enabled).toMatchObject({ enabled: true, disabled: null, revision: 2, updatedAt: '2024-06-01T12:00:00.000Z' });
  });

  it('an update changes only what it names; null clears a filter', () => {
    const updated = history(created, ['WebhookEndpointUpdated', { countries: null, description: 'desk' }, '2024-06-01T10:00:00.000Z'])!;
    expect(updated).toMatchObject({ url: 'https://hooks.example/policy', types: ['position.changed'], countries: null, description: 'desk' });
    expect(wants(updated, { type: 'position.changed', country: 'FR' })).toBe(true);
    expect(wants(updated, { type: 'history.revised', country: 'FR' })).toBe(false);
  });

  it('deleted, is marked so; events before a creation change nothing', () => {
    expect(history(created, ['WebhookEndpointDeleted', {}, '2024-06-01T10:00:00.000Z'])).toMatchObject({ deleted: true, enabled: false });
    expect(history(['WebhookEndpointEnabled', {}, '2024-06-01T10:00:00.000Z'])).toBeUndefined();
  });
});

describe('the retry schedule', () => {
  const settings = { retryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS, retryJitter: 0.2 };

  it('is immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each spread by the jitter', () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual([0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    for (let step = 1; step < 8; step++) {
      const base = DEFAULT_RETRY_SCHEDULE_MS[step];
      expect(nextDelay(settings, { step, statusCode: 500, retryAfterMs: null }, () => 0)).toBe(Math.round(base * 0.8));
      expect(nextDelay(settings, { step, statusCode: 500, retryAfterMs: null }, () => 0.5)).toBe(base);
      expect(nextDelay(settings, { step, statusCode: 500, retryAfterMs: null }, () => 0.999_999)).toBeLessThanOrEqual(Math.round(base * 1.2));
    }
  });

  it('gives up after the last attempt of the schedule', () => {
    expect(nextDelay(settings, { step: 8, statusCode: 500, retryAfterMs: null })).toBeNull();
  });

  it('on 429 and 503 waits for Retry-After when it is later than the schedule, without jitter', () => {
    expect(nextDelay(settings, { step: 1, statusCode: 429, retryAfterMs: 120_000 }, () => 0.999_999)).toBe(120_000);
    expect(nextDelay(settings, { step: 1, statusCode: 503, retryAfterMs: 3_600_000 }, () => 0.999_999)).toBe(3_600_000);
    expect(nextDelay(settings, { step: 1, statusCode: 500, retryAfterMs: 120_000 }, () => 0.5)).toBe(5_000);
  });

  it('never retries sooner than the schedule because of a Retry-After', () => {
    // 30 min is due at step 3: "come back in 2 s" does not bring it forward.
    expect(nextDelay(settings, { step: 3, statusCode: 503, retryAfterMs: 2_000 }, () => 0.5)).toBe(1_800_000);
    expect(nextDelay(settings, { step: 3, statusCode: 429, retryAfterMs: 2_000 }, () => 0)).toBe(Math.round(1_800_000 * 0.8));
    expect(nextDelay(settings, { step: 1, statusCode: 503, retryAfterMs: 0 }, () => 0.5)).toBe(5_000);
  });

  it('caps a Retry-After at a day, but not below the schedule', () => {
    expect(nextDelay(settings, { step: 1, statusCode: 503, retryAfterMs: 10 * 86_400_000 }, () => 0.5)).toBe(86_400_000);
    const long = { retryScheduleMs: [0, 2 * 86_400_000], retryJitter: 0 };
    expect(nextDelay(long, { step: 1, statusCode: 503, retryAfterMs: 10 * 86_400_000 })).toBe(2 * 86_400_000);
  });

  it('a receiver answering 503 with Retry-After: 2 to every attempt keeps the whole span of the schedule', () => {
    let span = 0;
    let attempts = 1;
    for (let step = 1; ; step++) {
      const delay = nextDelay(settings, { step, statusCode: 503, retryAfterMs: 2_000 }, () => 0);
      if (delay === null) break;
      span += delay;
      attempts += 1;
    }
    expect(attempts).toBe(DEFAULT_RETRY_SCHEDULE_MS.length);
    // At least the schedule's span with the most jitter taken off: about 22 of its 28 hours, not 14 seconds.
    expect(span).toBeGreaterThanOrEqual(DEFAULT_RETRY_SCHEDULE_MS.reduce((sum, ms) => sum + Math.round(ms * 0.8), 0));
    expect(span).toBeGreaterThan(22 * 3_600_000);
  });

  it('is configurable from the environment, and a bad value says which variable', () => {
    expect(loadWebhookSettings({ WEBHOOK_RETRY_SCHEDULE_MS: '0, 10, 20', WEBHOOK_DISABLE_AFTER_MS: '500' })).toMatchObject({ retryScheduleMs: [0, 10, 20], disableAfterMs: 500 });
    expect(loadWebhookSettings({})).toMatchObject({ timeoutMs: 15_000, disableAfterMs: 5 * 86_400_000, rotationOverlapMs: 86_400_000 });
    expect(() => loadWebhookSettings({ WEBHOOK_RETRY_SCHEDULE_MS: 'soon' })).toThrow(/WEBHOOK_RETRY_SCHEDULE_MS/);
  });
});

describe("a receiver's Retry-After", () => {
  const now = Date.parse('2026-11-22T03:29:00.000Z');

  it('is seconds or an HTTP date in any of its three forms, all in GMT, whatever the local time zone', () => {
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(retryAfterMs('60', now)).toBe(60_000);
      expect(retryAfterMs('Sun, 22 Nov 2026 03:30:00 GMT', now)).toBe(60_000);
      expect(retryAfterMs('Sunday, 22-Nov-26 03:30:00 GMT', now)).toBe(60_000);
      expect(retryAfterMs('Sun Nov 22 03:30:00 2026', now)).toBe(60_000);
      expect(retryAfterMs('Sun Nov  1 03:30:00 2026', now)).toBe(0);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('is not read from what is no HTTP date; given twice, the longer wait is kept', () => {
    for (const text of ['December 31, 2999', '2026-11-22T04:00:00', '2026-11-22', 'soon', '-5', '1.5', '']) expect(retryAfterMs(text, now), text).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
    expect(retryAfterMs(['1', '7200'], now)).toBe(7_200_000);
    expect(retryAfterMs(['soon', '30'], now)).toBe(30_000);
  });
});

describe('the payload and its signature', () => {
  const change: Change = {
    id: 'chg_abc',
    type: 'position.changed',
    country: 'US',
    position: 42,
    recordedAt: '2024-06-01T10:00:00.000Z',
    data: { country: 'US', at: '2024-06-01', previous: { status: 'prohibited' }, current: { status: 'restricted' } },
  };

  it('is {type, timestamp, data} with the change id, log position and sequence in data', () => {
    expect(JSON.parse(changeBody(change)(7))).toEqual({
      type: 'position.changed',
      timestamp: '2024-06-01T10:00:00.000Z',
      data: { ...change.data, changeId: 'chg_abc', country: 'US', position: 42, sequence: 7 },
    });
  });

  it('is signed so that the standardwebhooks package verifies it, with any of the secrets', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const body = changeBody(change)(1);
    const timestamp = Math.floor(Date.now() / 1_000);
    const headers = { 'webhook-id': change.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatureHeader([a, b], change.id, timestamp, body) };
    expect(new Webhook(a).verify(body, headers)).toMatchObject({ type: 'position.changed' });
    expect(new Webhook(b).verify(body, headers)).toMatchObject({ type: 'position.changed' });
    expect(signatureHeader([a], change.id, timestamp, body)).toBe(new Webhook(a).sign(change.id, new Date(timestamp * 1_000), body));
  });
});
