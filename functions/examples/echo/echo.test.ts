import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningFunction, serve } from '../../sdk/index.ts';
import echo from './index.ts';

let running: RunningFunction | undefined;
afterAll(() => running?.close(1000));

describe('echo example', () => {
  it('replies with the request data as dev.elasticserving.echo.reply', async () => {
    running = await serve(echo, { port: 0, logger: pino({ level: 'silent' }) });
    const res = await request(`http://127.0.0.1:${running.port}/`, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'e1',
        'ce-source': '/demo',
        'ce-type': 'dev.elasticserving.echo',
        'ce-partitionkey': 'p',
        'content-type': 'application/json',
      },
      body: '{"hello":"world"}',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['ce-type']).toBe('dev.elasticserving.echo.reply');
    expect(res.headers['ce-partitionkey']).toBe('p');
    expect(await res.body.json()).toEqual({ hello: 'world' });
  });
});
