import { ElasticServingError } from '../core/errors.ts';

/** A Knative Destination: a reference to an addressable resource, a URI, or both (URI relative to the ref). */
export interface Destination {
  ref?: { kind: string; name: string; namespace?: string; apiVersion?: string };
  uri?: string;
}

/** Where the embedded platform serves each addressable kind (DESIGN §5 "Addresses"). */
export interface AddressBook {
  ingressUrl: string;
  gatewayUrl: string;
}

export function brokerUrl(book: AddressBook, namespace: string, name: string): string {
  return `${book.ingressUrl}/${namespace}/${name}`;
}

export function functionUrl(book: AddressBook, namespace: string, name: string): string {
  return `${book.gatewayUrl}/${namespace}/${name}`;
}

/**
 * Resolves a Destination to a URL as Knative does: a ref to a Broker is its ingress, a Function or
 * InferenceService its gateway address; a URI alone is used as is; a URI with a ref is resolved against the ref's
 * address. Throws with a reason for kinds we cannot address.
 */
export function resolveDestination(book: AddressBook, dest: Destination, namespace: string): string {
  if (!dest.ref) {
    if (!dest.uri) throw new ElasticServingError('ES_ERR_INVALID_RESOURCE', 'destination has neither ref nor uri');
    return dest.uri;
  }
  const ns = dest.ref.namespace ?? namespace;
  let base: string;
  switch (dest.ref.kind) {
    case 'Broker':
      base = brokerUrl(book, ns, dest.ref.name);
      break;
    case 'Function':
    case 'InferenceService':
      base = functionUrl(book, ns, dest.ref.name);
      break;
    default:
      throw new ElasticServingError(
        'ES_ERR_INVALID_RESOURCE',
        `cannot address a ${dest.ref.kind}: refs may name a Broker, Function or InferenceService (or use uri)`,
      );
  }
  if (!dest.uri) return base;
  return new URL(dest.uri, `${base}/`).toString();
}
