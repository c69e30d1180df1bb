import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of PostgreSQL that can lose the reply to a COMMIT.
 *
 * It forwards both directions byte for byte and reads the client's messages
 * (startup, then `type + int32 length + body`). TypeORM sends COMMIT as a
 * simple query (`'Q'` with the text `COMMIT`); pg sends parameterised
 * statements as Parse (`'P'`) messages, whose text is read too. When a cut is
 * armed, the next COMMIT of a transaction that sent a statement matching
 * `when` (any COMMIT without it) is
 * - `"reply-lost"`: forwarded; the server's reply (up to its ReadyForQuery)
 *   is held back, then both connections are closed: the server committed,
 *   the client never hears of it;
 * - `"never-sent"`: not forwarded; both connections are closed: the server
 *   rolls the transaction back.
 * `refuse(true)` closes every new connection at once (the database looks
 * down to clients of the proxy).
 */
export interface PgProxy {
  readonly port: number;
  /** Arms one cut; resolves once it happened. */
  cutNextCommit(mode: "reply-lost" | "never-sent", when?: RegExp): Promise<void>;
  refuse(on: boolean): void;
  /** How many cuts happened. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startPgProxy(target: { host: string; port: number }): Promise<PgProxy> {
  let armed: { mode: "reply-lost" | "never-sent"; when?: RegExp; done: () => void } | null = null;
  let refusing = false;
  let cuts = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);

    let inbound = Buffer.alloc(0);
    let started = false; // past the startup message
    let matched = false; // the open transaction sent a statement matching `armed.when`
    let holding: { buffer: Buffer; cut: () => void } | null = null;

    upstream.on("data", (chunk: Buffer) => {
      if (!holding) return void client.write(chunk);
      holding.buffer = Buffer.concat([holding.buffer, chunk]);
      if (hasReadyForQuery(holding.buffer)) holding.cut();
    });

    client.on("data", (chunk: Buffer) => {
      inbound = Buffer.concat([inbound, chunk]);
      for (;;) {
        if (!started) {
          if (inbound.length < 8) return;
          const length = inbound.readInt32BE(0);
          if (inbound.length < length) return;
          const code = inbound.readInt32BE(4);
          if (code !== 80877103) started = true; // not an SSLRequest: the startup message
          upstream.write(inbound.subarray(0, length));
          inbound = inbound.subarray(length);
          continue;
        }
        if (inbound.length < 5) return;
        const length = inbound.readInt32BE(1) + 1;
        if (inbound.length < length) return;
        const message = inbound.subarray(0, length);
        inbound = inbound.subarray(length);
        const type = String.fromCharCode(message[0]);
        const text = type === "Q" ? message.subarray(5).toString("utf8") : type === "P" ? parseText(message) : "";
        const statement = text.replace(/\0/g, "").trim();
        if (armed?.when?.test(statement)) matched = true;
        if (type === "Q" && /^(COMMIT|END)$/i.test(statement) && armed && (!armed.when || matched)) {
          const cut = armed;
          armed = null;
          cuts++;
          if (cut.mode === "never-sent") {
            end();
            cut.done();
            return;
          }
          holding = { buffer: Buffer.alloc(0), cut: () => (end(), cut.done()) };
          upstream.write(message);
          return;
        }
        if (type === "Q" && /^(COMMIT|ROLLBACK|END)$/i.test(statement)) matched = false;
        upstream.write(message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("proxy did not get a port");
  return {
    port: address.port,
    get cuts() {
      return cuts;
    },
    cutNextCommit: (mode, when) => new Promise<void>((resolve) => (armed = { mode, when, done: resolve })),
    refuse(on) {
      refusing = on;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The query text of a Parse message: type, length, statement name\0, query\0, ... */
function parseText(message: Buffer): string {
  const nameEnd = message.indexOf(0, 5);
  const queryEnd = message.indexOf(0, nameEnd + 1);
  return message.subarray(nameEnd + 1, queryEnd).toString("utf8");
}

/** Whether the server's messages in `buffer` include a ReadyForQuery ('Z'). */
function hasReadyForQuery(buffer: Buffer): boolean {
  for (let at = 0; at + 5 <= buffer.length;) {
    if (buffer[at] === 0x5a) return true;
    at += buffer.readInt32BE(at + 1) + 1;
  }
  return false;
}
