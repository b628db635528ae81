import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Listens and returns the base URL actually bound (port 0 resolved). Listen errors keep their `code`. */
export async function listen(server: FastifyInstance, host: string, port: number): Promise<string> {
  await server.listen({ host, port });
  const address = server.server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shown}:${address.port}`;
}
