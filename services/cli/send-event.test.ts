import { describe, expect, it } from 'vitest';
import { brokerUrl, buildSendEvent, parseExtensions } from './send-event.ts';

describe('buildSendEvent', () => {
  it('sends --data byte for byte as JSON when it parses, with a generated id and time', async () => {
    const warnings: string[] = [];
    const e = await buildSendEvent({ type: 't', source: '/s', data: '{ "a" : 1 }' }, '/', (w) => warnings.push(w));
    expect(e.attributes).toMatchObject({
      specversion: '1.0',
      type: 't',
      source: '/s',
      datacontenttype: 'application/json',
    });
    expect(e.attributes.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(e.attributes.time!)).not.toBeNaN();
    expect(e.data!.toString()).toBe('{ "a" : 1 }');
    expect(warnings).toEqual([]);
  });

  it('sends non-JSON data as text with a warning, and refuses it when the content type says JSON', async () => {
    const warnings: string[] = [];
    const e = await buildSendEvent({ type: 't', source: '/s', data: 'hello' }, '/', (w) => warnings.push(w));
    expect(e.attributes.datacontenttype).toBe('text/plain; charset=utf-8');
    expect(warnings).toHaveLength(1);
    await expect(
      buildSendEvent({ type: 't', source: '/s', data: 'hello', contentType: 'application/json' }, '/', () => {}),
    ).rejects.toMatchObject({
      exitCode: 2,
    });
  });

  it('carries id, subject and extensions, and has no data or content type without --data', async () => {
    const e = await buildSendEvent(
      { type: 't', source: '/s', id: 'x1', subject: 'sub', ext: ['partitionkey=u1', 'model=iris'] },
      '/',
      () => {},
    );
    expect(e.attributes).toMatchObject({ id: 'x1', subject: 'sub', partitionkey: 'u1', model: 'iris' });
    expect(e.attributes.datacontenttype).toBeUndefined();
    expect(e.data).toBeUndefined();
  });

  it('refuses an event the spec rejects, and --data with --data-file', async () => {
    await expect(buildSendEvent({ type: '', source: '/s' }, '/', () => {})).rejects.toThrow(
      /not a valid CloudEvent: attribute type/,
    );
    await expect(buildSendEvent({ type: 't', source: '/s', time: 'noon' }, '/', () => {})).rejects.toThrow(/time/);
    await expect(buildSendEvent({ type: 't', source: '/s', data: '1', dataFile: 'f' }, '/', () => {})).rejects.toThrow(
      /not both/,
    );
  });
});

describe('parseExtensions', () => {
  it('parses name=value (values may contain =) and refuses bad names and core attributes', () => {
    expect(parseExtensions(['a1=x=y', 'b=']).valueOf()).toEqual({ a1: 'x=y', b: '' });
    expect(() => parseExtensions(['Bad=x'])).toThrow(/lower-case/);
    expect(() => parseExtensions(['novalue'])).toThrow(/name=value/);
    expect(() => parseExtensions(['type=x'])).toThrow(/core attribute/);
  });
});

describe('brokerUrl', () => {
  it('defaults to the namespace default broker and accepts name or ns/name', () => {
    expect(brokerUrl('http://h:8080/', undefined, 'default')).toBe('http://h:8080/default/default');
    expect(brokerUrl('http://h:8080', 'b2', 'team')).toBe('http://h:8080/team/b2');
    expect(brokerUrl('http://h:8080', 'demo/b3', 'team')).toBe('http://h:8080/demo/b3');
    expect(() => brokerUrl('http://h', 'a/b/c', 'x')).toThrow(/namespace\/name/);
  });
});
