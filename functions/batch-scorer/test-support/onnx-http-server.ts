/**
 * For tests: a real HTTP server running a real ONNX model with onnxruntime-node behind the two v2 routes a batch
 * worker calls (model metadata and infer). It validates requests as a v2 server does (400 with `{"error"}` for
 * a wrong tensor) and passes onnxruntime's own errors back, so failures in tests come from the model.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';

const V2_TYPES: Record<string, string> = {
  float32: 'FP32',
  float64: 'FP64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  bool: 'BOOL',
  string: 'BYTES',
};
const ORT_TYPES = Object.fromEntries(Object.entries(V2_TYPES).map(([k, v]) => [v, k]));

interface Meta {
  name: string;
  datatype: string;
  shape: number[];
}

function metaOf(m: ort.InferenceSession.ValueMetadata): Meta {
  const t = m as { name: string; type?: string; shape?: readonly (number | string)[] };
  return {
    name: t.name,
    datatype: V2_TYPES[t.type ?? ''] ?? 'FP32',
    shape: (t.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : -1)),
  };
}

export interface OnnxHttpServer {
  /** Base URL (what a batch calls an InferenceService URL). */
  url: string;
  port: number;
  /** Infer requests answered, by number of rows in them. */
  inferRows: number[];
  close(): Promise<void>;
}

class BadRequest extends Error {}

function tensorOf(input: Meta, body: { shape?: unknown; datatype?: unknown; data?: unknown }): ort.Tensor {
  if (!Array.isArray(body.shape) || !Array.isArray(body.data))
    throw new BadRequest(`input ${input.name}: no shape/data`);
  const shape = body.shape.map(Number);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = (body.data as unknown[]).flat(Number.POSITIVE_INFINITY);
  if (data.length !== size) {
    throw new BadRequest(`input ${input.name}: shape [${shape}] needs ${size} values, got ${data.length}`);
  }
  const type = ORT_TYPES[input.datatype] ?? 'float32';
  if (type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(data.map((v) => BigInt(v as number))), shape);
  if (type === 'float32') return new ort.Tensor('float32', Float32Array.from(data as number[]), shape);
  return new ort.Tensor(type as 'float64', data as number[], shape);
}

export interface OnnxHttpServerOptions {
  /** Port to listen on; 0 = any free port. @defaultValue 0 */
  port?: number;
  /** Extra time each infer call takes, as a slower model would (to catch a batch mid-way). @defaultValue 0 */
  delayMs?: number;
}

/** Serves `model` as `name` on 127.0.0.1. */
export async function startOnnxHttpServer(
  model: Uint8Array,
  name: string,
  options: OnnxHttpServerOptions = {},
): Promise<OnnxHttpServer> {
  const port = options.port ?? 0;
  const session = await ort.InferenceSession.create(model);
  const inputs = session.inputMetadata.map(metaOf);
  const outputs = session.outputMetadata.map(metaOf);
  const inferRows: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const path = req.url ?? '';
      if (req.method === 'GET' && path === `/v2/models/${name}`) {
        answer(200, { name, platform: 'onnxruntime', inputs, outputs });
        return;
      }
      if (req.method !== 'POST' || path !== `/v2/models/${name}/infer`) {
        answer(404, { error: `no route ${req.method} ${path} (model ${name})` });
        return;
      }
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string; inputs?: unknown[] };
          const feeds: Record<string, ort.Tensor> = {};
          for (const input of inputs) {
            const given = (body.inputs ?? []).find((i) => (i as { name?: string }).name === input.name);
            if (!given) throw new BadRequest(`missing input ${input.name}`);
            feeds[input.name] = tensorOf(input, given as object);
          }
          let results: ort.InferenceSession.OnnxValueMapType;
          try {
            results = await session.run(feeds);
          } catch (err) {
            throw new BadRequest(`onnxruntime: ${(err as Error).message}`);
          }
          if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
          inferRows.push(feeds[inputs[0]!.name]!.dims[0] ?? 0);
          answer(200, {
            model_name: name,
            id: body.id,
            outputs: outputs.map((o) => {
              const t = results[o.name] as ort.Tensor;
              return {
                name: o.name,
                shape: [...t.dims],
                datatype: o.datatype,
                data: Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v)),
              };
            }),
          });
        } catch (err) {
          answer(err instanceof BadRequest || err instanceof SyntaxError ? 400 : 500, {
            error: (err as Error).message,
          });
        }
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    inferRows,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
