/** The function authoring SDK: `import { defineFunction } from 'elastic-serving/sdk'` (DESIGN §5). */

export { makeEvent } from '../../services/core/cloudevent.ts';
export { defineFunction } from './define.ts';
export { NonRetriableError, RetryAfterError } from './errors.ts';
export { type RunningFunction, type ServeOptions, serve } from './server.ts';
export type {
  CeAttributes,
  CloudEvent,
  FunctionContext,
  FunctionDefinition,
  FunctionOptions,
  Handler,
  HandlerResult,
  HttpAnswer,
  HttpRequest,
  InitContext,
  Logger,
  SdkEvent,
} from './types.ts';
