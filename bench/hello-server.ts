// The reference for the HTTP benchmarks: a hello-world fastify server, GET and POST, no logging.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ hello: 'world' }));
app.post('/hello', async (request) => ({ received: typeof request.body }));
// The same answer padded to a given size: how much of a real answer's cost is only its bytes.
const padded = new Map<number, string>();
app.get<{ Params: { bytes: string } }>('/hello/:bytes', async (request, reply) => {
  const bytes = Number(request.params.bytes);
  if (!padded.has(bytes)) padded.set(bytes, JSON.stringify({ hello: 'x'.repeat(Math.max(0, bytes - 12)) }));
  return reply.type('application/json').send(padded.get(bytes));
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.send?.('ready');
