// Serving the model with nothing else: one process, node:http, JSON.parse, onnxruntime-node's session.run and a
// JSON answer shaped like v2 — no validation, no platform. No v2 server on node:http and onnxruntime-node can beat
// it, so `v2_infer_single` is read beside it to tell what the platform costs from what serving the model costs.
// Usage: raw-onnxruntime-http.ts <model.onnx>; prints its URL.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InferenceSession, Tensor } from 'onnxruntime-node';

interface V2Input {
  name: string;
  shape: number[];
  data: number[];
}

const session = await InferenceSession.create(readFileSync(process.argv[2]!), {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const input = (JSON.parse(Buffer.concat(chunks).toString()) as { inputs: V2Input[] }).inputs[0]!;
    const results = await session.run({
      [input.name]: new Tensor('float32', Float32Array.from(input.data), input.shape),
    });
    const outputs = Object.entries(results).map(([name, t]) => ({
      name,
      shape: t.dims,
      data: Array.from(t.data as ArrayLike<number | bigint>, Number),
    }));
    const body = JSON.stringify({ model_name: 'iris', outputs });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
