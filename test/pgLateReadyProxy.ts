import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of PostgreSQL that delivers the ReadyForQuery (`'Z'`)
 * following an ErrorResponse (`'E'`) `delayMs` late, in a packet of its own.
 *
 * node-postgres rejects a failed statement when its ErrorResponse arrives;
 * the ReadyForQuery that carries the session's new transaction status (`E`:
 * aborted) comes after it, usually in the same packet but not always. This
 * proxy makes the late case happen every time, so a test can show that
 * nothing trusts a transaction status read before that message arrived.
 * Everything else is forwarded as it comes, in order.
 */
export interface LateReadyProxy {
  readonly port: number;
  close(): Promise<void>;
}

export async function startLateReadyProxy(
  target: { host: string; port: number },
  delayMs: number,
): Promise<LateReadyProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.on("data", (chunk: Buffer) => upstream.write(chunk));

    // Server -> client: whole messages (type byte + int32 length), sent in order through one queue.
    let pending = Buffer.alloc(0);
    let afterError = false;
    let queue: Promise<void> = Promise.resolve();
    const send = (bytes: Buffer, wait: number) => {
      queue = queue.then(
        () =>
          new Promise<void>((resolve) => {
            const write = () => (client.destroyed ? resolve() : client.write(bytes, () => resolve()));
            if (wait > 0) setTimeout(write, wait);
            else write();
          }),
      );
    };
    upstream.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      let start = 0;
      let at = 0;
      // The server's first bytes may answer SSL negotiation ('N'/'S', one byte): node-postgres here does not ask.
      while (pending.length - at >= 5) {
        const length = pending.readInt32BE(at + 1);
        if (pending.length - at < 1 + length) break;
        const type = String.fromCharCode(pending[at]);
        if (type === "Z" && afterError) {
          if (at > start) send(pending.subarray(start, at), 0);
          send(pending.subarray(at, at + 1 + length), delayMs);
          start = at + 1 + length;
        }
        afterError = type === "E" || (afterError && type !== "Z");
        at += 1 + length;
      }
      if (at > start) send(pending.subarray(start, at), 0);
      pending = pending.subarray(at);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
