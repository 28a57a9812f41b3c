// Where the dispatcher learns which changes this replica must turn into
// deliveries. Two implementations, chosen in the composition root by EVENT_STORE:
// - `Dispatcher` (dispatcher.ts), the embedded store's: one process, so it
//   follows its own read model's change feed from its checkpoint;
// - `PersistentDispatch` (persistent-dispatch.ts), KurrentDB's: replicas share a
//   persistent subscription group on $all, and each dispatches the changes of
//   the log events the group hands it.
// Both create the deliveries the same way (`queueLive`), into this replica's
// webhooks.db, from which its delivery worker sends them.
export interface DispatchSource {
  start(): void;
  /** Stops taking changes; what it had not queued is left for later (or, on KurrentDB, for another replica). */
  stop(): Promise<void>;
  /** Why it stopped by itself, if it did. */
  failure?: Error;
}
