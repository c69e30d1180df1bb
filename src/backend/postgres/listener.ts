import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import type { ResolvedPostgresOptions } from "../../core/resolveOptions";
import type { Logger } from "../../core/types";
import type { WorkBand } from "../processLocal";

/**
 * The NOTIFY channel hrp-cron uses. A notification means "look now"; its
 * payload names the bands of the new work ({@link wakeupPayload}), or is
 * empty (anywhere).
 */
export const WAKEUP_CHANNEL = "hrp_cron_wakeup";

/** PostgreSQL refuses payloads of 8000 bytes or more; longer lists are sent as "anywhere". */
const MAX_PAYLOAD_BYTES = 7_900;

/**
 * A notification's payload: JSON `{"from": sender, "bands": [[queue,
 * priority, keyed, users?], ...]}`, or "" for anywhere (no bands, or too
 * long). `sender` is the announcing DataSource's listener
 * ({@link PgListener.sender}); `users` the band's `WorkBand.users`, when said.
 */
export function wakeupPayload(bands: readonly WorkBand[] | null, sender: string): string {
  if (!bands || bands.length === 0) return "";
  const items = bands.map((b) => [b.queue, b.priority, b.keyed ? 1 : 0, ...(b.users ? [b.users] : [])]);
  const text = JSON.stringify({ from: sender, bands: items });
  return Buffer.byteLength(text) < MAX_PAYLOAD_BYTES ? text : "";
}

/** What a payload says; bands null (anywhere) when it names none or cannot be read (an older or newer sender). */
export function parseWakeupPayload(payload: string | undefined): { from: string | null; bands: WorkBand[] | null } {
  const anywhere = { from: null, bands: null };
  if (!payload) return anywhere;
  try {
    const { from, bands: items } = JSON.parse(payload) as { from?: unknown; bands?: unknown };
    if (!Array.isArray(items) || items.length === 0) return anywhere;
    const bands: WorkBand[] = [];
    for (const item of items) {
      if (!Array.isArray(item) || typeof item[0] !== "string" || !Number.isInteger(item[1])) return anywhere;
      const users = Array.isArray(item[3]) && item[3].every(Number.isInteger) ? (item[3] as number[]) : undefined;
      bands.push({ queue: item[0], priority: item[1] as number, keyed: item[2] !== 0, ...(users ? { users } : {}) });
    }
    return { from: typeof from === "string" ? from : null, bands };
  } catch {
    return anywhere;
  }
}

interface PgClient {
  query(sql: string): Promise<unknown>;
  on(event: "notification", listener: (message: { channel: string; payload?: string }) => void): void;
  on(event: "error" | "end", listener: (error?: Error) => void): void;
  removeAllListeners(): void;
}
interface PgPool {
  connect(): Promise<PgClient & { release(error?: Error | boolean): void }>;
}
/** The `pg` module TypeORM loaded (its `driver` option, else `require("pg")`). */
interface PgModule {
  Client: new (config: {
    connectionString: string;
    application_name?: string;
  }) => PgClient & { connect(): Promise<void>; end(): Promise<void> };
}

/** A LISTEN connection and how to give it back. */
interface Connection {
  readonly client: PgClient;
  /** Returns a pooled connection (destroys it after an error) or closes a dedicated one. */
  dispose(error?: Error | boolean): void;
}

/**
 * One `LISTEN` connection per DataSource, shared by every dispatcher in the
 * process: a dedicated connection to `listenUrl` when given, else one taken
 * from TypeORM's pool — except behind a pooler in transaction mode
 * (`poolMode: "transaction"`), where a LISTEN would land on whatever server
 * connection the pooler picked and hear nothing: there is then no LISTEN
 * and polling (`pollIntervalMs`) finds other processes' work. When the
 * connection drops (server restart, `pg_terminate_backend`, network) it
 * reconnects with backoff (100 ms doubling to 5 s) and then wakes
 * everybody, because notifications sent while it was down are lost.
 * Polling stays the backstop. Subscribers hear the bands each notification
 * names (null: anywhere). A notification this DataSource sent naming bands
 * is not heard again: its in-process wake-up (`WakeupHub`, which every
 * such announcement is paired with) already woke this process's
 * dispatchers.
 */
export class PgListener {
  /** This listener's DataSource, as the sender of its notifications. */
  readonly sender = randomUUID();
  private readonly subscribers = new Set<(bands: readonly WorkBand[] | null) => void>();
  private connection: Connection | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private retryMs = 100;
  private retryTimer: NodeJS.Timeout | null = null;
  logger: Logger | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: Pick<ResolvedPostgresOptions, "poolMode" | "listenUrl">,
  ) {}

  /** Whether this DataSource can LISTEN at all (see the class comment). */
  get enabled(): boolean {
    return this.options.listenUrl !== null || this.options.poolMode === "session";
  }

  /** Adds a subscriber; the first one opens the connection. Returns the unsubscribe function. */
  async subscribe(onWake: (bands: readonly WorkBand[] | null) => void, logger: Logger): Promise<() => Promise<void>> {
    this.logger ??= logger;
    if (!this.enabled) {
      logger.info(
        "no LISTEN behind a transaction pooler without listenUrl: other processes' work is found by polling (pollIntervalMs)",
      );
      return async () => undefined;
    }
    this.subscribers.add(onWake);
    this.closed = false;
    if (!this.connection) await this.connect().catch((error) => this.scheduleReconnect(error));
    return async () => {
      this.subscribers.delete(onWake);
      if (this.subscribers.size === 0) await this.close();
    };
  }

  /** A dedicated client on `listenUrl`, or a client from TypeORM's pool. */
  private async open(): Promise<Connection> {
    if (this.options.listenUrl !== null) {
      const pg = (this.dataSource.driver as unknown as { postgres: PgModule }).postgres;
      const client = new pg.Client({ connectionString: this.options.listenUrl, application_name: "hrp-cron listener" });
      client.on("error", () => undefined); // reported through "end" / the failed connect
      await client.connect();
      return { client, dispose: () => void client.end().catch(() => undefined) };
    }
    const pool = (this.dataSource.driver as unknown as { master: PgPool }).master;
    const client = await pool.connect();
    return {
      client,
      dispose: (error) => {
        try {
          client.release(error);
        } catch {
          // already released
        }
      },
    };
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const connection = await this.open();
      const { client } = connection;
      client.on("notification", (message) => {
        if (message.channel !== WAKEUP_CHANNEL) return;
        const { from, bands } = parseWakeupPayload(message.payload);
        if (from !== this.sender) this.wakeAll(bands);
      });
      client.on("error", (error) => this.lost(connection, error));
      client.on("end", () => this.lost(connection, new Error("LISTEN connection ended")));
      try {
        await client.query(`LISTEN ${WAKEUP_CHANNEL}`);
      } catch (error) {
        client.removeAllListeners();
        client.on("error", () => undefined);
        connection.dispose(error as Error);
        throw error;
      }
      if (this.closed) {
        client.removeAllListeners();
        client.on("error", () => undefined);
        connection.dispose();
        return;
      }
      this.connection = connection;
      this.retryMs = 100;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private lost(connection: Connection, error?: Error): void {
    if (this.connection !== connection) return;
    this.connection = null;
    connection.client.removeAllListeners();
    connection.client.on("error", () => undefined); // late errors of a dead client must not crash the process
    connection.dispose(error ?? true);
    if (!this.closed) this.scheduleReconnect(error);
  }

  private scheduleReconnect(error?: unknown): void {
    if (this.closed || this.retryTimer) return;
    this.logger?.warn("LISTEN connection lost; reconnecting", { error: String(error), retryInMs: this.retryMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().then(
        () => this.wakeAll(null), // catch up on anything announced while disconnected
        (e) => this.scheduleReconnect(e),
      );
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
  }

  private wakeAll(bands: readonly WorkBand[] | null): void {
    for (const s of this.subscribers) s(bands);
  }

  private async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.connecting?.catch(() => undefined);
    const connection = this.connection;
    this.connection = null;
    if (!connection) return;
    connection.client.removeAllListeners();
    connection.client.on("error", () => undefined);
    try {
      await connection.client.query(`UNLISTEN ${WAKEUP_CHANNEL}`);
      connection.dispose();
    } catch (error) {
      connection.dispose(error as Error);
    }
  }
}
