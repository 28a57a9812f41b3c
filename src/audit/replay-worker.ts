// The replay behind POST /v1/admin/replay, run in a worker thread: its own
// heap with its own limit, so a replay of a large log can neither starve the
// service's event loop nor take the service down when memory runs out.
import { parentPort, workerData } from 'node:worker_threads';
import { ReadModel } from '../read-model/read-model.js';
import { openEventStore, type StoreSpec } from '../store/open-store.js';
import { replayAndCompare } from './replay.js';

export interface ReplayJob {
  store: StoreSpec;
  /** The live read model, compared from the file (the service keeps writing it). */
  readModelFile: string;
  /** The live webhook state, whose endpoints are compared too. */
  webhooksFile?: string;
}

const job = workerData as ReplayJob;
const store = openEventStore(job.store);
const live = new ReadModel(job.readModelFile);
try {
  parentPort!.postMessage({ report: await replayAndCompare(store, live, { liveIsAnotherConnection: true, webhooksFile: job.webhooksFile }) });
} finally {
  live.close();
  await store.close();
}
