/** The activator: request buffer and capacity-aware load balancer in front of function replicas (DESIGN §7). */
export {
  Activator,
  type ActivatorFunction,
  type ActivatorOptions,
  type DispatchRequest,
  type DispatchResponse,
  errorResponse,
  type FunctionLoad,
  type ResponseHandler,
  type ScaleSignals,
} from './activator.ts';
export { type Backend, ReplicaBalancer } from './balancer.ts';
export { activatorInPath, type BurstInput, DEFAULT_TARGET_BURST_CAPACITY, excessBurstCapacity } from './burst.ts';
export { ConcurrencyMeter, type LoadSample } from './meter.ts';
export { headersFromRaw, type RelayHandle, type ResponseSink } from './relay.ts';
