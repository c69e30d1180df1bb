import type { DataSource } from "typeorm";
import type { Logger } from "../types";

/** The NOTIFY channel hrp-cron uses; payloads are ignored (a notification only means "look now"). */
export const WAKEUP_CHANNEL = "hrp_cron_wakeup";

interface PgClient {
  query(sql: string): Promise<unknown>;
  on(event: "notification", listener: (message: { channel: string }) => void): void;
  on(event: "error" | "end", listener: (error?: Error) => void): void;
  removeAllListeners(): void;
}
interface PgPool {
  connect(): Promise<PgClient & { release(error?: Error | boolean): void }>;
}

/**
 * One `LISTEN` connection per DataSource, shared by every dispatcher in the
 * process and taken from TypeORM's pool. When the connection drops (server
 * restart, `pg_terminate_backend`, network) it reconnects with backoff
 * (100 ms doubling to 5 s) and then wakes everybody, because notifications
 * sent while it was down are lost. Polling stays the backstop.
 */
export class PgListener {
  private readonly subscribers = new Set<() => void>();
  private client: (PgClient & { release(error?: Error | boolean): void }) | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private retryMs = 100;
  private retryTimer: NodeJS.Timeout | null = null;
  logger: Logger | null = null;

  constructor(private readonly dataSource: DataSource) {}

  /** Adds a subscriber; the first one opens the connection. Returns the unsubscribe function. */
  async subscribe(onWake: () => void, logger: Logger): Promise<() => Promise<void>> {
    this.logger ??= logger;
    this.subscribers.add(onWake);
    this.closed = false;
    if (!this.client) await this.connect().catch((error) => this.scheduleReconnect(error));
    return async () => {
      this.subscribers.delete(onWake);
      if (this.subscribers.size === 0) await this.close();
    };
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const pool = (this.dataSource.driver as unknown as { master: PgPool }).master;
      const client = await pool.connect();
      client.on("notification", (message) => {
        if (message.channel === WAKEUP_CHANNEL) this.wakeAll();
      });
      client.on("error", (error) => this.lost(client, error));
      client.on("end", () => this.lost(client, new Error("LISTEN connection ended")));
      await client.query(`LISTEN ${WAKEUP_CHANNEL}`);
      if (this.closed) {
        client.removeAllListeners();
        client.release();
        return;
      }
      this.client = client;
      this.retryMs = 100;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private lost(client: PgClient & { release(error?: Error | boolean): void }, error?: Error): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners();
    client.on("error", () => undefined); // late errors of a dead client must not crash the process
    try {
      client.release(error ?? true);
    } catch {
      // already released
    }
    if (!this.closed) this.scheduleReconnect(error);
  }

  private scheduleReconnect(error?: unknown): void {
    if (this.closed || this.retryTimer) return;
    this.logger?.warn("LISTEN connection lost; reconnecting", { error: String(error), retryInMs: this.retryMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().then(
        () => this.wakeAll(), // catch up on anything announced while disconnected
        (e) => this.scheduleReconnect(e),
      );
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
  }

  private wakeAll(): void {
    for (const s of this.subscribers) s();
  }

  private async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = null;
    if (!client) return;
    client.removeAllListeners();
    client.on("error", () => undefined);
    try {
      await client.query(`UNLISTEN ${WAKEUP_CHANNEL}`);
      client.release();
    } catch (error) {
      client.release(error as Error);
    }
  }
}
