// The answer cache's own bookkeeping: a byte budget, oldest entries out first.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AnswerCache, bodyOf, type CachedAnswer } from '../../src/http/answer-cache.js';

const answer = (bytes: number, checkpoint = 1): CachedAnswer => ({
  etag: '"0"', body: Buffer.alloc(bytes, 'x'), from: 0, until: Number.POSITIVE_INFINITY, checkpoint, bytes,
});

describe('the answer cache', () => {
  it('keeps at most its byte budget, dropping the oldest entries first, and never one too large', () => {
    const cache = new AnswerCache(new EventEmitter(), { maxBytes: 100, maxEntryBytes: 60 });
    cache.set('a', answer(40));
    cache.set('b', answer(40));
    cache.set('c', answer(40));
    expect([cache.get('a', 1, 0), cache.get('b', 1, 0), cache.get('c', 1, 0)].map(Boolean)).toEqual([false, true, true]);
    cache.set('huge', answer(61));
    expect(cache.get('huge', 1, 0)).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('serves an entry only at the checkpoint it was built at, and empties on applied and swapped', () => {
    const events = new EventEmitter();
    const cache = new AnswerCache(events, { maxBytes: 100, maxEntryBytes: 60 });
    cache.set('a', answer(10, 7));
    expect(cache.get('a', 8, 0)).toBeUndefined();
    expect(cache.get('a', 7, 0)).toBeDefined();
    events.emit('applied', 8);
    expect(cache.size).toBe(0);
    cache.set('a', answer(10, 8));
    events.emit('swapped');
    expect(cache.size).toBe(0);
    cache.close();
    expect(events.listenerCount('applied') + events.listenerCount('swapped')).toBe(0);
  });

  it('completes a body kept in parts with the instant asked for, within the instants it holds for', () => {
    const cache = new AnswerCache(new EventEmitter());
    const parts: [Buffer, Buffer, Buffer] = [Buffer.from('{"knownAt":"'), Buffer.from('","basis":{"knownAt":"'), Buffer.from('"}}')];
    cache.set('now', { etag: '"0"', parts, from: 1000, until: 2000, checkpoint: 1, bytes: 40 });
    expect(cache.get('now', 1, 999)).toBeUndefined();
    expect(cache.get('now', 1, 2000)).toBeUndefined();
    const kept = cache.get('now', 1, 1999)!;
    expect(JSON.parse(bodyOf(kept, '2026-03-01T12:00:00.000Z').toString())).toEqual({
      knownAt: '2026-03-01T12:00:00.000Z',
      basis: { knownAt: '2026-03-01T12:00:00.000Z' },
    });
  });
});

describe('a body completed from parts', () => {
  it('is made once per instant and made again for the next one', () => {
    const parts: [Buffer, Buffer, Buffer] = [Buffer.from('{"k":"'), Buffer.from('","b":"'), Buffer.from('"}')];
    const answer: CachedAnswer = { etag: '"0"', parts, from: 0, until: Number.POSITIVE_INFINITY, checkpoint: 1, bytes: 16 };
    const first = bodyOf(answer, '2026-03-01T12:00:00.000Z');
    expect(bodyOf(answer, '2026-03-01T12:00:00.000Z')).toBe(first);
    const next = bodyOf(answer, '2026-03-01T12:00:00.001Z');
    expect(next.toString()).toBe('{"k":"2026-03-01T12:00:00.001Z","b":"2026-03-01T12:00:00.001Z"}');
    expect(first.toString()).toBe('{"k":"2026-03-01T12:00:00.000Z","b":"2026-03-01T12:00:00.000Z"}');
  });
});
