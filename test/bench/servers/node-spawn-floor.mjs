// The physical floor of a cold start: a bare `node` process that serves HTTP. Plain JavaScript run by `node` with
// no loader, like a replica; it prints its port once listening and answers every request with 200.
import { createServer } from 'node:http';

const server = createServer((_req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
