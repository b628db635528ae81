import { connect } from 'node:net';
import type { ISocketFactory } from 'kafkajs';

/**
 * kafkajs's sockets with Nagle's algorithm off, as ioredis, nats.js and undici (our other clients) have theirs. With
 * it on, a small request written while an earlier one is unacknowledged (a produce behind a produce, a commit behind
 * a fetch) can wait for the broker's delayed ACK, up to 40 ms on Linux; librdkafka turned it off by default for that
 * reason. The append batcher does the batching, not the socket. On this machine's loopback the open-loop p99 moved
 * within its run-to-run noise either way. Plain TCP only: the log has no TLS option.
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, onConnect }) => {
  const socket = connect({ host, port, noDelay: true }, onConnect);
  // kafkajs's own keep-alive setting.
  socket.setKeepAlive(true, 60_000);
  return socket;
};
