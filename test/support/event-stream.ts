import { Pool } from 'undici';

/** One POST the stream made, by outcome. */
export interface StreamCounts {
  sent: number;
  accepted: number;
  /** 503 answers, and how many of them lacked Retry-After (must be none). */
  unavailable: number;
  unavailableWithoutRetryAfter: number;
  /** Connection refused / reset (the platform is down). */
  connectionErrors: number;
  /** Any other status: a bug in what the ingress answers. */
  unexpected: Record<string, number>;
  /** Slowest answer, ms: the ingress must not hang while the engine is away. */
  slowestMs: number;
}

/**
 * Sends binary-mode CloudEvents with ids `<prefix>-<n>` to a broker as fast as `concurrency` allows (or at
 * `ratePerSecond`), recording which ids were answered 202. Ids not answered 202 are not resent: they were never
 * accepted, so nobody owes their delivery.
 */
export class EventStream {
  readonly accepted = new Set<string>();
  readonly counts: StreamCounts = {
    sent: 0,
    accepted: 0,
    unavailable: 0,
    unavailableWithoutRetryAfter: 0,
    connectionErrors: 0,
    unexpected: {},
    slowestMs: 0,
  };
  /** Time of each 202, for "recovered within" checks. */
  readonly acceptedAt: number[] = [];
  private running = false;
  private next = 0;
  private lanes: Promise<void>[] = [];
  private pool: Pool;

  constructor(
    private url: string,
    private readonly options: { prefix: string; concurrency?: number; total?: number; data?: string },
  ) {
    this.pool = new Pool(new URL(url).origin, { connections: options.concurrency ?? 16 });
  }

  /** Points the stream at another ingress (a restarted platform on another port). */
  retarget(url: string): void {
    const old = this.pool;
    this.url = url;
    this.pool = new Pool(new URL(url).origin, { connections: this.options.concurrency ?? 16 });
    void old.close().catch(() => undefined);
  }

  start(): void {
    this.running = true;
    this.lanes = Array.from({ length: this.options.concurrency ?? 16 }, () => this.lane());
  }

  /** Resolves when `total` events were sent (if set) and every request has been answered. */
  async finished(): Promise<void> {
    await Promise.all(this.lanes);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.lanes);
    await this.pool.close();
  }

  private async lane(): Promise<void> {
    while (this.running) {
      if (this.options.total !== undefined && this.next >= this.options.total) return;
      const id = `${this.options.prefix}-${this.next++}`;
      await this.sendOne(id);
    }
  }

  private async sendOne(id: string): Promise<void> {
    const started = performance.now();
    this.counts.sent++;
    const path = new URL(this.url).pathname;
    try {
      const res = await this.pool.request({
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': id,
          'ce-source': '/faults',
          'ce-type': 'dev.elasticserving.fault',
        },
        body: this.options.data ?? `{"id":"${id}"}`,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      await res.body.dump();
      if (res.statusCode === 202) {
        this.accepted.add(id);
        this.counts.accepted++;
        this.acceptedAt.push(Date.now());
      } else if (res.statusCode === 503) {
        this.counts.unavailable++;
        if (res.headers['retry-after'] === undefined) this.counts.unavailableWithoutRetryAfter++;
        await new Promise((r) => setTimeout(r, 20));
      } else {
        this.counts.unexpected[res.statusCode] = (this.counts.unexpected[res.statusCode] ?? 0) + 1;
      }
    } catch {
      this.counts.connectionErrors++;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.counts.slowestMs = Math.max(this.counts.slowestMs, performance.now() - started);
  }
}
