import { ElasticServingError } from '../core/errors.ts';

/**
 * Bearer-token auth for the ingress. A token maps to the brokers it may publish to, as `namespace/name`,
 * `namespace/*` or `*`. When any token is configured, every request needs one: no or an unknown token is 401,
 * a known token used on a broker outside its list is 403.
 */
export interface IngressAuthOptions {
  /** token → broker patterns it may publish to. */
  tokens: Record<string, readonly string[]>;
}

export function checkIngressAuth(
  auth: IngressAuthOptions | undefined,
  header: string | undefined,
  namespace: string,
  broker: string,
): void {
  if (!auth || Object.keys(auth.tokens).length === 0) return;
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  if (!token)
    throw new ElasticServingError('ES_ERR_UNAUTHORIZED', 'missing bearer token (Authorization: Bearer <token>)');
  const allowed = Object.hasOwn(auth.tokens, token) ? auth.tokens[token] : undefined;
  if (!allowed) throw new ElasticServingError('ES_ERR_UNAUTHORIZED', 'invalid bearer token');
  const key = `${namespace}/${broker}`;
  if (!allowed.some((p) => p === '*' || p === key || p === `${namespace}/*`)) {
    throw new ElasticServingError('ES_ERR_FORBIDDEN', `token is not allowed to publish to broker ${key}`);
  }
}

/** Parses `ES_INGRESS_TOKENS`: `tok1=default/default,default/other;tok2=*`. */
export function parseTokenList(text: string | undefined): IngressAuthOptions | undefined {
  if (!text) return undefined;
  const tokens: Record<string, string[]> = {};
  for (const entry of text.split(';')) {
    const [token, brokers] = entry.split('=', 2);
    if (token?.trim())
      tokens[token.trim()] = (brokers ?? '*')
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean);
  }
  return { tokens };
}
