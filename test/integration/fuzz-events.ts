import fc from 'fast-check';
import {
  binaryContentType,
  casing,
  ceHeaders,
  extName,
  type FuzzCase,
  type HeaderList,
  idArb,
  invalidUtf8,
  isValidUtf8,
  noiseHeaders,
  rawRequest,
  safe,
  smallBody,
  specCase,
  TARGET,
  validAttrs,
  word,
} from './fuzz-shared.ts';

// Generators of requests that are well-formed HTTP but carry a bad (or, as controls, a good) CloudEvent.

type Edit = (headers: HeaderList) => HeaderList;
const drop =
  (name: string): Edit =>
  (h) =>
    h.filter(([k]) => k.toLowerCase() !== name);
const set =
  (name: string, value: string): Edit =>
  (h) =>
    h.map(([k, v]) => [k, k.toLowerCase() === name ? value : v]);
const add =
  (name: string, value: string): Edit =>
  (h) => [...h, [name, value]];

const badTime = fc.oneof(
  fc.constantFrom(
    'yesterday',
    '2020-13-01T00:00:00Z',
    '2020-01-01',
    '2020-01-01T25:00:00Z',
    '2020-01-01T00:00:00',
    '0',
  ),
  word.map((w) => `t${w}`),
);
const tcharNotAllowed = fc.constantFrom('-', '_', '.', '~', '!', '#', '$', '&', "'", '*', '+', '^', '`', '|');
const badExtName = fc
  .tuple(fc.stringMatching(/^[a-z0-9]{0,5}$/), tcharNotAllowed, fc.stringMatching(/^[a-z0-9]{0,5}$/))
  .map((p) => p.join(''));

/** One change that makes a valid binary-mode header set invalid, whatever else is added. */
const breakBinary: fc.Arbitrary<Edit> = fc.oneof(
  fc.constantFrom('ce-specversion', 'ce-id', 'ce-source', 'ce-type').map(drop),
  fc
    .stringMatching(/^[A-Za-z0-9.]{0,6}$/)
    .filter((v) => v !== '1.0')
    .map((v) => set('ce-specversion', v)),
  fc
    .tuple(fc.constantFrom('ce-id', 'ce-source', 'ce-type'), fc.constantFrom('', ' ', '   ', '\t'))
    .map(([n, v]) => set(n, v)),
  badTime.map((v) => add('ce-time', v)),
  badExtName.map((n) => add(`ce-${n}`, 'x')),
  safe.map((v) => add('ce-datacontenttype', v)),
  // A second specversion header: Node joins duplicates into "1.0, x", never "1.0".
  fc
    .stringMatching(/^[0-9.]{1,4}$/)
    .filter((v) => v !== '1.0')
    .map((v) => add('ce-specversion', v)),
  // Replaces rather than adds: two empty headers would be joined into a non-empty ", ".
  fc.constantFrom('ce-subject', 'ce-dataschema').map(
    (n): Edit =>
      (h) => [...drop(n)(h), [n, '']],
  ),
);

export const binaryInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    cased: casing,
    edits: fc.array(breakBinary, { minLength: 1, maxLength: 3 }),
    noise: noiseHeaders,
    ct: binaryContentType,
    body: smallBody,
  })
  .map(({ attrs, cased, edits, noise, ct, body }) => {
    let headers = ceHeaders(attrs, cased);
    for (const edit of edits) headers = edit(headers);
    headers = [...headers, ...noise];
    if (ct !== undefined) headers.push(['Content-Type', ct]);
    return specCase('binary-ce', 'invalid', {
      method: 'POST',
      path: TARGET,
      headers: headers as [string, string][],
      body,
    });
  });

/** Random ce- headers, sometimes duplicated: anything goes, but never a 5xx. */
export const binaryRandom: fc.Arbitrary<FuzzCase> = fc
  .record({
    base: fc.option(validAttrs, { nil: undefined }),
    extra: fc.array(fc.tuple(fc.stringMatching(/^ce-[a-zA-Z0-9_-]{0,12}$/), fc.stringMatching(/^[ -~]{0,30}$/)), {
      maxLength: 6,
    }),
    dup: fc.array(fc.constantFrom('ce-specversion', 'ce-id', 'ce-source', 'ce-type', 'ce-time'), { maxLength: 2 }),
    body: smallBody,
  })
  .map(({ base, extra, dup, body }) => {
    const headers = [...(base ? ceHeaders(base) : []), ...extra];
    for (const name of dup) headers.push([name, headers.find(([k]) => k === name)?.[1] ?? '1.0']);
    return specCase('binary-ce-random', 'maybe', {
      method: 'POST',
      path: TARGET,
      headers: headers as [string, string][],
      body,
    });
  });

const badPercent = fc.constantFrom(
  '%',
  '%z',
  '%G1',
  '%1',
  '%%',
  '%E0%A4%A',
  '%ZZ',
  '%FF',
  '%C3%28',
  '%80',
  '%C0%AF',
  '%ED%A0%80',
  '%F4%90%80%80',
  '%E2%82',
  '%u00e9',
);
const ctlByte = fc.constantFrom(0, 1, 7, 8, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f, 0x7f).map((b) => Buffer.from([b]));
const encodedHeader = fc.constantFrom('ce-id', 'ce-source', 'ce-type', 'ce-subject', 'ce-myext', 'ce-dataschema');

/** A valid event but for one header value with broken percent-encoding, invalid UTF-8 or a control byte. */
export const headerEncodingInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    name: encodedHeader,
    bad: fc.oneof(
      badPercent.map((s) => Buffer.from(s)),
      invalidUtf8,
      ctlByte,
    ),
    prefix: fc.oneof(fc.constant(''), safe),
    // Never starting with a hex digit, which could complete a broken escape ("%E0%A4%A" + "1...").
    suffix: fc.oneof(fc.constant(''), fc.stringMatching(/^[g-zG-Z._~:/+-][A-Za-z0-9._~:/+-]{0,20}$/)),
  })
  .map(({ attrs, name, bad, prefix, suffix }) => {
    const value = Buffer.concat([Buffer.from(prefix), bad, Buffer.from(suffix)]);
    const headers: HeaderList = [['Host', '127.0.0.1'], ...ceHeaders(attrs).filter(([k]) => k !== name), [name, value]];
    return {
      category: 'header-encoding',
      expect: 'invalid' as const,
      bytes: rawRequest('POST', TARGET, headers, Buffer.alloc(0)),
    };
  });

/** Positive control: the same headers correctly percent-encoded, or as raw UTF-8, must be accepted. */
export const headerEncodingValid: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    name: encodedHeader,
    text: fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is removed here
      .map((s) => s.replace(/[\u0000-\u001f\u007f%]/g, '')),
    raw: fc.boolean(),
    prefix: safe,
    suffix: safe,
  })
  .map(({ attrs, name, text, raw, prefix, suffix }) => {
    const middle = raw ? Buffer.from(text, 'utf8') : Buffer.from(encodeURIComponent(text));
    const value = Buffer.concat([Buffer.from(prefix), middle, Buffer.from(suffix)]);
    const headers: HeaderList = [['Host', '127.0.0.1'], ...ceHeaders(attrs).filter(([k]) => k !== name), [name, value]];
    return {
      category: 'header-encoding-ok',
      expect: 'valid' as const,
      bytes: rawRequest('POST', TARGET, headers, Buffer.alloc(0)),
    };
  });

// ---- JSON formats ----

export const validObject = fc
  .record({
    id: idArb,
    source: safe,
    type: safe,
    data: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
    ext: fc.option(fc.tuple(extName, fc.oneof(safe, fc.integer({ min: -1000, max: 1000 }), fc.boolean())), {
      nil: undefined,
    }),
  })
  .map(({ id, source, type, data, ext }) => {
    const obj: Record<string, unknown> = { specversion: '1.0', id, source, type };
    if (data !== undefined) obj.data = data;
    if (ext) obj[ext[0]] = ext[1];
    return obj;
  });

type ObjEdit = (o: Record<string, unknown>) => Record<string, unknown>;
const without =
  (key: string): ObjEdit =>
  (o) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));
const withKey =
  (key: string, value: unknown): ObjEdit =>
  (o) => ({ ...o, [key]: value });
const wrongValue = fc.constantFrom<unknown>(5, true, null, {}, [], '', 2.5, ['1.0']);

/** One change that makes a valid JSON-format event invalid. */
const breakObject: fc.Arbitrary<ObjEdit> = fc.oneof(
  fc.constantFrom('specversion', 'id', 'source', 'type').map(without),
  fc.tuple(fc.constantFrom('specversion', 'id', 'source', 'type'), wrongValue).map(([k, v]) => withKey(k, v)),
  fc.constantFrom('0.3', '1', '1.0 ', '2.0', 'v1.0').map((v) => withKey('specversion', v)),
  fc
    .tuple(extName, fc.constantFrom<unknown>({}, [], 2.5, 2 ** 31, -(2 ** 31) - 1, [1], { a: 1 }))
    .map(([k, v]) => withKey(k, v)),
  fc.constantFrom('Bad', 'a-b', 'a_b', '', 'ÄÖ', 'x y', 'ID').map((k) => withKey(k, 'x')),
  fc.constantFrom<unknown>('@@@@', 'abc', 'a===', '====', 'ab=c', 5, true, {}).map((v) => withKey('data_base64', v)),
  fc.constant<ObjEdit>((o) => ({ ...o, data: o.data ?? 1, data_base64: 'AAAA' })),
  badTime.map((v) => withKey('time', v)),
  fc
    .tuple(fc.constantFrom('subject', 'dataschema', 'datacontenttype'), fc.constantFrom<unknown>('', 5, false, {}))
    .map(([k, v]) => withKey(k, v)),
);

export const invalidObject = fc
  .tuple(validObject, fc.array(breakObject, { minLength: 1, maxLength: 2 }))
  .map(([o, edits]) => edits.reduce((acc, edit) => edit(acc), o));

/** JSON text that is a valid document but not an object. */
const nonObjectJson = fc
  .jsonValue({ maxDepth: 2 })
  .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v));

const insertBytes = (text: string, at: number, bytes: Buffer) => {
  const cut = at % (text.length + 1);
  return Buffer.concat([Buffer.from(text.slice(0, cut)), bytes, Buffer.from(text.slice(cut))]);
};

/** Never valid JSON: a proper prefix of a compact object/array text cannot close it. */
const truncate = (text: string, at: number) => Buffer.from(text.slice(0, at % text.length));

const notJsonBytes = fc.uint8Array({ minLength: 1, maxLength: 200 }).filter((a) => {
  if (!isValidUtf8(a)) return true;
  try {
    JSON.parse(Buffer.from(a).toString('utf8'));
    return false;
  } catch {
    return true;
  }
});

const structuredType = fc
  .tuple(casing, fc.constantFrom('', '; charset=utf-8', ';charset=UTF-8', ' ; foo=bar'))
  .map(([cased, params]) => cased('application/cloudevents+json') + params);

/** Structured mode: broken JSON, invalid UTF-8, wrong shapes, bad attributes. */
export const structuredInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    ct: structuredType,
    body: fc.oneof(
      fc.tuple(validObject, fc.nat()).map(([o, at]) => truncate(JSON.stringify(o), at)),
      fc.tuple(validObject, fc.nat(), invalidUtf8).map(([o, at, bad]) => insertBytes(JSON.stringify(o), at, bad)),
      nonObjectJson.map((v) => Buffer.from(JSON.stringify(v))),
      invalidObject.map((o) => Buffer.from(JSON.stringify(o))),
      fc
        .dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }))
        .filter((o) => !Object.hasOwn(o, 'specversion'))
        .map((o) => Buffer.from(JSON.stringify(o))),
      notJsonBytes.map((a) => Buffer.from(a)),
    ),
    noise: noiseHeaders,
  })
  .map(({ ct, body, noise }) =>
    specCase('structured', 'invalid', {
      method: 'POST',
      path: TARGET,
      headers: [['Content-Type', ct], ...noise],
      body,
    }),
  );

const batchType = fc
  .tuple(casing, fc.constantFrom('', '; charset=utf-8'))
  .map(([cased, p]) => cased('application/cloudevents-batch+json') + p);

/** Batch mode: not an array, one bad member among good ones, broken JSON, invalid UTF-8. */
export const batchInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    ct: batchType,
    body: fc.oneof(
      fc
        .oneof(
          nonObjectJson.filter((v) => !Array.isArray(v)),
          validObject,
          fc.dictionary(word, fc.jsonValue({ maxDepth: 1 })),
        )
        .map((v) => Buffer.from(JSON.stringify(v))),
      fc
        .tuple(fc.array(validObject, { maxLength: 3 }), fc.oneof(invalidObject, nonObjectJson), fc.nat())
        .map(([good, bad, at]) => {
          const list: unknown[] = [...good];
          list.splice(at % (good.length + 1), 0, bad);
          return Buffer.from(JSON.stringify(list));
        }),
      fc
        .tuple(fc.array(validObject, { maxLength: 3 }), fc.nat())
        .map(([list, at]) => truncate(JSON.stringify(list), at)),
      fc
        .tuple(fc.array(validObject, { minLength: 1, maxLength: 2 }), fc.nat(), invalidUtf8)
        .map(([l, at, bad]) => insertBytes(JSON.stringify(l), at, bad)),
    ),
  })
  .map(({ ct, body }) =>
    specCase('batch', 'invalid', { method: 'POST', path: TARGET, headers: [['Content-Type', ct]], body }),
  );

/** Positive control: well-formed batches (the empty batch included) are accepted. */
export const batchValid: fc.Arbitrary<FuzzCase> = fc
  .tuple(batchType, fc.array(validObject, { maxLength: 4 }))
  .map(([ct, list]) =>
    specCase('batch-ok', 'valid', {
      method: 'POST',
      path: TARGET,
      headers: [['Content-Type', ct]],
      body: Buffer.from(JSON.stringify(list)),
    }),
  );

const nonEventType = fc.oneof(
  fc.constantFrom(
    undefined,
    'application/cloudevents+xml',
    'application/cloudevents+protobuf',
    'application/cloudevents+avro',
    'application/cloudevents-batch+xml',
    'application/cloudevents',
    'application/cloudevents+jsonx',
    'APPLICATION/CLOUDEVENTS+XML; charset=utf-8',
    'multipart/form-data; boundary=----x',
    'multipart/mixed',
    'text/plain',
    'application/json',
    'application/xml',
    'application/x-www-form-urlencoded',
    '',
    ';;;',
    'garbage',
    '*/*',
    'application/',
    '/',
  ),
  fc.tuple(word, word).map(([a, b]) => `${a}/${b}`),
);
const unsupportedEventType = fc.constantFrom(
  'application/cloudevents+xml',
  'application/cloudevents+protobuf',
  'application/cloudevents',
  'Application/CloudEvents+Avro; charset=utf-8',
  'application/cloudevents-batch+xml',
);

/** Wrong media types: no ce- headers (so not binary mode either), or ce- headers with a non-JSON event format. */
export const contentTypeInvalid: fc.Arbitrary<FuzzCase> = fc.oneof(
  fc
    .record({
      ct: nonEventType,
      body: fc.oneof(
        smallBody,
        validObject.map((o) => Buffer.from(JSON.stringify(o))),
      ),
      noise: noiseHeaders,
    })
    .map(({ ct, body, noise }) => {
      const headers: [string, string][] = [...noise];
      if (ct !== undefined) headers.push(['Content-Type', ct]);
      return specCase('content-type', 'invalid', { method: 'POST', path: TARGET, headers, body });
    }),
  fc.record({ attrs: validAttrs, ct: unsupportedEventType, body: smallBody }).map(({ attrs, ct, body }) =>
    specCase('content-type', 'invalid', {
      method: 'POST',
      path: TARGET,
      headers: [...(ceHeaders(attrs) as [string, string][]), ['Content-Type', ct]],
      body,
    }),
  ),
);

const segment = fc.oneof(fc.constant('default'), word, fc.stringMatching(/^[A-Za-z0-9._~-]{1,30}$/));
const badPathPercent = fc.constantFrom('%', '%z', '%G1', '%E0%A4%A', '%FF', '%C3%28', '%%', '%u0041');

/** Anything but `/{namespace}/{broker}` of a known broker; an optional query never makes it right. */
export const pathInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    path: fc.oneof(
      fc
        .tuple(segment, segment)
        .filter(([a, b]) => !(a === 'default' && b === 'default'))
        .map(([a, b]) => `/${a}/${b}`),
      fc.constantFrom(
        '/',
        '/default',
        '/default/',
        '/default/default/',
        '/default/default/x',
        '//default/default',
        '/default//default',
        '/a/b/c/d',
        '/default/default/..',
      ),
      fc
        .tuple(fc.boolean(), badPathPercent, word)
        .map(([first, bad, w]) => (first ? `/${w}${bad}/default` : `/default/${w}${bad}`)),
      fc.integer({ min: 101, max: 3000 }).map((n) => `/default/${'d'.repeat(n)}`),
    ),
    query: fc.option(fc.constantFrom('?a=1', '?%zz', '?', '?x=%E0%A4%A&&'), { nil: '' }),
  })
  .map(({ attrs, path, query }) =>
    specCase('path', 'invalid', {
      method: 'POST',
      path: path + query,
      headers: ceHeaders(attrs) as [string, string][],
      body: Buffer.alloc(0),
    }),
  );
