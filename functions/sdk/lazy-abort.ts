/**
 * An abort signal made only when someone asks for it. Most handlers never read `ctx.signal`, and an
 * AbortController per request (with its listeners and weak references) showed as multi-millisecond GC pauses
 * in replicas at 1,000 events/s; this keeps the cost to one small object until the signal is needed.
 */
export class LazyAbort {
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
