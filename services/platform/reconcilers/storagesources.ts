import {
  type Reconciler,
  type ReconcilerOptions,
  runReconciler,
  type StatusPatch,
} from '../../controller/reconciler.ts';
import { SECRET_KIND } from '../../controller/resources/secrets.ts';
import type { Resource } from '../../controller/resources/types.ts';
import { secretLookup } from '../../controller/secrets.ts';
import type { ResourceStore } from '../../controller/store.ts';
import {
  CredentialError,
  referencedSecrets,
  resolveStorageCredentials,
  type SecretLookup,
  StorageSourceNotReadyError,
  type StorageSourceResource,
  type StorageSourceRunner,
  storageSourceKey,
} from '../../sources/storage/index.ts';
import { type AddressBook, type Destination, resolveDestination } from '../addresses.ts';
import { NotReadyError } from './not-ready.ts';
import { sinkBroker } from './pingsources.ts';

/** What reconciling a StorageSource needs. */
export interface StorageSourceDeps {
  runner: StorageSourceRunner;
  addresses: AddressBook;
  /**
   * Whether a Broker exists (the platform: its registry of served Brokers; the sources service: the Brokers it
   * observes). A sink Broker that does not exist makes the source not Ready (SinkNotFound) instead of emitting
   * into 404s.
   */
  brokerExists(namespace: string, name: string): boolean;
  /**
   * Reads Secret keys for `secretKeyRef` credentials.
   * @defaultValue in {@link runStorageSourceReconciler}: `secretLookup(store)`; in {@link reconcileStorageSource}:
   *   none, so such sources are not Ready (SecretsUnavailable)
   */
  lookupSecret?: SecretLookup;
  /** Environment for `{ env: NAME }` credentials. @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

function keyOf(source: Resource): string {
  return storageSourceKey(source.metadata.namespace ?? 'default', source.metadata.name);
}

/**
 * Runs (or keeps running) a StorageSource and reports its status: Ready with the mode's reason (`Watching`,
 * `Polling`, `Listening`), `sinkUri`, and `webhookUrl` in webhook mode. Not Ready reasons: SinkNotFound,
 * CredentialsMissing, SecretNotFound, SecretInvalid, SecretsUnavailable, BucketUnreachable, ListFailed, WatchFailed,
 * PathConflict, WebhookServerDisabled.
 */
export async function reconcileStorageSource(source: Resource, deps: StorageSourceDeps): Promise<StatusPatch> {
  const namespace = source.metadata.namespace ?? 'default';
  const key = keyOf(source);
  const spec = source.spec as unknown as StorageSourceResource['spec'] & { sink: Destination };
  const broker = sinkBroker(source);
  if (broker && !deps.brokerExists(broker.namespace, broker.name)) {
    await deps.runner.remove(key);
    throw new NotReadyError('SinkNotFound', `sink Broker ${broker.namespace}/${broker.name} does not exist`);
  }
  const sinkUri = resolveDestination(deps.addresses, spec.sink, namespace);
  try {
    const credentials = await resolveStorageCredentials(spec, {
      namespace,
      env: deps.env,
      lookupSecret: deps.lookupSecret,
    });
    await deps.runner.upsert(
      { metadata: { name: source.metadata.name, namespace }, spec: { ...spec, sink: { uri: sinkUri } } },
      credentials,
    );
  } catch (err) {
    if (err instanceof CredentialError || err instanceof StorageSourceNotReadyError) {
      await deps.runner.remove(key);
      throw new NotReadyError(err.reason, err.message);
    }
    throw err;
  }
  const health = deps.runner.health(key);
  if (health && !health.ready) throw new NotReadyError(health.reason, health.message);
  const webhookUrl = deps.runner.webhookUrl(key);
  return {
    conditions: [
      { type: 'Ready', status: 'True', reason: health?.reason ?? 'Running', message: health?.message ?? 'running' },
    ],
    sinkUri,
    ...(webhookUrl === undefined ? {} : { webhookUrl }),
  };
}

/** The resource was deleted: stop it and drop its checkpoint (a StorageSource created again starts afresh). */
export async function removeStorageSource(source: Resource, runner: StorageSourceRunner): Promise<void> {
  await runner.remove(keyOf(source), { forget: true });
}

/** Whether a StorageSource reads credentials from Secret `namespace/name` (to reconcile it when that changes). */
export function usesSecret(source: Resource, namespace: string, name: string): boolean {
  return (
    (source.metadata.namespace ?? 'default') === namespace &&
    referencedSecrets(source.spec as StorageSourceResource['spec'] | undefined).includes(name)
  );
}

/**
 * The wiring of StorageSources, for the embedded platform and the sources service alike: one reconciler over
 * the store, re-run for a source when its runner reports a health change (an S3 listing failing or recovering,
 * a watch error) and when a Secret it reads changes (Secrets are observed, their status is not written).
 * The caller re-reconciles sources whose sink Broker comes or goes with
 * `enqueueWhere((s) => sameName(broker, sinkBroker(s)))`, serves `buildStorageWebhookApp(runner.webhookOptions())`
 * at the runner's `webhookBaseUrl`, and calls `runner.stopAll()` after `stop()`.
 */
export async function runStorageSourceReconciler(
  store: ResourceStore,
  deps: StorageSourceDeps,
  options: ReconcilerOptions = {},
): Promise<Reconciler> {
  const withSecrets: StorageSourceDeps = { ...deps, lookupSecret: deps.lookupSecret ?? secretLookup(store) };
  const reconciler = await runReconciler(
    store,
    'StorageSource',
    (s) => reconcileStorageSource(s, withSecrets),
    (s) => removeStorageSource(s, deps.runner),
    options,
  );
  const unsubscribe = deps.runner.onHealthChange((key) => reconciler.enqueueWhere((s) => keyOf(s) === key));
  const secretChanged = async (secret: Resource) =>
    reconciler.enqueueWhere((s) => usesSecret(s, secret.metadata.namespace ?? 'default', secret.metadata.name));
  let secrets: Reconciler;
  try {
    secrets = await runReconciler(store, SECRET_KIND, secretChanged, secretChanged, {
      ...options,
      writeStatus: false,
    });
  } catch (err) {
    unsubscribe();
    await reconciler.stop();
    throw err;
  }
  return {
    idle: async () => {
      await Promise.all([reconciler.idle(), secrets.idle()]);
    },
    enqueueWhere: (match) => reconciler.enqueueWhere(match),
    stop: async () => {
      unsubscribe();
      await secrets.stop();
      await reconciler.stop();
    },
  };
}
