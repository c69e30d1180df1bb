import type { TestDb } from "./helpers";

interface PgClientLike {
  query: (...args: unknown[]) => unknown;
}
interface PgPoolLike {
  on(event: "acquire", listener: (client: PgClientLike) => void): void;
  off(event: "acquire", listener: (client: PgClientLike) => void): void;
}

/**
 * The statements `db`'s connections send while `work` runs whose text
 * matches `pattern`: on PostgreSQL every `client.query` of the pool's
 * connections (named prepared statements included, which bypass TypeORM);
 * on SQLite every query TypeORM runs (hrp-cron's statements all go through
 * it there). For proving round trips per job without timing anything.
 */
export async function statementsDuring(db: TestDb, pattern: RegExp, work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const note = (text: unknown) => {
    if (typeof text === "string" && pattern.test(text)) seen.push(text);
  };
  if (db.kind === "postgres") {
    const pool = (db.dataSource.driver as unknown as { master: PgPoolLike }).master;
    const restore: Array<() => void> = [];
    const wrapped = new Set<PgClientLike>();
    const wrap = (client: PgClientLike) => {
      if (wrapped.has(client)) return;
      wrapped.add(client);
      const original = client.query;
      client.query = function (this: unknown, ...args: unknown[]) {
        const first = args[0];
        note(typeof first === "string" ? first : (first as { text?: unknown } | undefined)?.text);
        return original.apply(this, args);
      };
      restore.push(() => (client.query = original));
    };
    pool.on("acquire", wrap);
    try {
      await work();
    } finally {
      pool.off("acquire", wrap);
      for (const undo of restore.reverse()) undo();
    }
    return seen;
  }
  const subscriber = { beforeQuery: (event: { query: string }) => note(event.query) };
  db.dataSource.subscribers.push(subscriber as never);
  try {
    await work();
  } finally {
    db.dataSource.subscribers.splice(db.dataSource.subscribers.indexOf(subscriber as never), 1);
  }
  return seen;
}
