// A write whose event is committed but which still waits for the read model (up to 5 s) when a
// shutdown starts must get its answer, not a reset: its client cannot tell it was written.
import { afterAll, expect, it } from 'vitest';
import { Tokens } from '../../src/composition.js';
import type { ProjectionRunner } from '../../src/read-model/projection-runner.js';
import { ADMIN_KEY, kirby, startTestService, type TestService } from '../helpers/service.js';

const services: TestService[] = [];
afterAll(async () => {
  for (const service of services) await service.stop().catch(() => undefined);
});

it('a write in flight during a shutdown is answered, even when it takes longer than REQUEST_TIMEOUT_MS', async () => {
  const service = await startTestService({ env: { REQUEST_TIMEOUT_MS: '1000' } });
  services.push(service);
  const runner = service.container.resolve<ProjectionRunner>(Tokens.Runner);
  const waitFor = runner.waitFor.bind(runner);
  // The read model is slow to apply this write (a busy disk): the write waits, as it may, up to 5 s.
  runner.waitFor = async (position, timeoutMs) => {
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    return waitFor(position, timeoutMs);
  };
  const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
  const answer = fetch(`${address}/v1/statements`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...kirby, country: 'FR' }),
  }).then(
    (response) => response.status,
    (error: Error) => `failed: ${error.message} ${String((error.cause as Error | undefined)?.message)}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 300)); // the event is committed by now
  const closing = service.close();
  expect(await answer).toBe(201);
  // And the connection, idle once answered, does not hold the shutdown up until the 8 s grace period (from
  // the close, so about 5.5 s after the answer) cuts it: it is closed within about 100 ms. The bound is loose
  // for a busy machine, and still short of that grace.
  const answered = Date.now();
  await closing;
  expect(Date.now() - answered).toBeLessThan(4_000);
});
