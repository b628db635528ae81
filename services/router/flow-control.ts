import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket that spaces deliveries to at most `ratePerSecond` (burst of one second's worth), so a slow
 * function sees back-pressure in its queue instead of a flood. Waiting callers are served in arrival order.
 */
export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly ratePerSecond: number) {
    this.tokens = ratePerSecond;
  }

  take(signal?: AbortSignal): Promise<void> {
    const next = this.chain.then(() => this.waitForToken(signal));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async waitForToken(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.ratePerSecond, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(((1 - this.tokens) / this.ratePerSecond) * 1000, undefined, { signal });
    }
  }
}
