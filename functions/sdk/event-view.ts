import { type CeAttributes, type CloudEvent, decodeData } from '../../services/core/cloudevent.ts';
import type { SdkEvent } from './types.ts';

const UNDECODED = Symbol('undecoded');

/** The handler's view of a request event; `data` is decoded lazily and once. */
export class RequestEvent<T = unknown> implements SdkEvent<T> {
  readonly cloudEvent: CloudEvent;
  #data: unknown = UNDECODED;

  constructor(event: CloudEvent) {
    this.cloudEvent = event;
  }

  get attributes(): Readonly<CeAttributes> {
    return this.cloudEvent.attributes;
  }
  get specversion(): string {
    return this.cloudEvent.attributes.specversion;
  }
  get id(): string {
    return this.cloudEvent.attributes.id;
  }
  get source(): string {
    return this.cloudEvent.attributes.source;
  }
  get type(): string {
    return this.cloudEvent.attributes.type;
  }
  get subject(): string | undefined {
    return this.cloudEvent.attributes.subject;
  }
  get time(): string | undefined {
    return this.cloudEvent.attributes.time;
  }
  get datacontenttype(): string | undefined {
    return this.cloudEvent.attributes.datacontenttype;
  }
  get dataschema(): string | undefined {
    return this.cloudEvent.attributes.dataschema;
  }
  get dataBytes(): Buffer | undefined {
    return this.cloudEvent.data;
  }
  get data(): T | undefined {
    if (this.#data === UNDECODED) this.#data = decodeData(this.cloudEvent);
    return this.#data as T | undefined;
  }

  toJSON(): Record<string, unknown> {
    return { ...this.cloudEvent.attributes, data: this.data };
  }
}
