// A read model that can be replaced under the feet of its readers: everyone
// holds this one object, and a swap changes what it forwards to in one
// synchronous step, so no request sees a half-swapped state. Its event
// emitter is stable across swaps, so listeners (writes waiting to be applied,
// the change stream, webhook dispatch) keep working.
import { EventEmitter } from 'node:events';
import type { ReadModel } from './read-model.js';

const FORWARDED_EVENTS = ['applied', 'changes'] as const;

export class ReadModelSwitch {
  readonly events = new EventEmitter();
  private forwarders = new Map<string, (...args: unknown[]) => void>();

  constructor(private target: ReadModel) {
    this.events.setMaxListeners(0);
    this.listen(target);
  }

  get current(): ReadModel {
    return this.target;
  }

  /** A ReadModel-shaped view that always forwards to the current target. */
  view(): ReadModel {
    return new Proxy({} as ReadModel, {
      get: (_, property) => {
        if (property === 'events') return this.events;
        const value = Reflect.get(this.target, property, this.target);
        return typeof value === 'function' ? value.bind(this.target) : value;
      },
    });
  }

  swap(next: ReadModel): void {
    for (const [name, forward] of this.forwarders) this.target.events.off(name, forward);
    this.target = next;
    this.listen(next);
    // The file keeps its name but is a new file: readers with their own connection must reopen.
    this.events.emit('swapped');
  }

  private listen(model: ReadModel): void {
    this.forwarders = new Map(FORWARDED_EVENTS.map((name) => [name, (...args: unknown[]) => this.events.emit(name, ...args)]));
    for (const [name, forward] of this.forwarders) model.events.on(name, forward);
  }
}
