// The baseline: bare fastify answering 202 to a 1 KiB JSON POST, in its own process.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/:ns/:name', async (_req, reply) => reply.code(202).send());
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${address}\n`);
