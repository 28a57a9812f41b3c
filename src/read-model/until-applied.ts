import type { EventEmitter } from 'node:events';

/**
 * Resolves true once a projection that emits 'applied' (with the position it
 * reached) has applied `position`, or false after `timeoutMs`: how a write
 * waits until what it wrote can be read.
 */
export function untilApplied(events: EventEmitter, applied: () => number, position: number, timeoutMs: number): Promise<boolean> {
  if (applied() >= position) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onApplied = (reached: number) => {
      if (reached < position) return;
      cleanup();
      resolve(true);
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve(false);
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      events.off('applied', onApplied);
    };
    events.on('applied', onApplied);
  });
}
