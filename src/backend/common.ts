import type { EntityManager } from "typeorm";

/** Unwraps TypeORM's QueryFailedError to the driver's error. */
export function driverError(error: unknown): { code?: unknown; message?: unknown } {
  if (error && typeof error === "object") {
    const inner = (error as { driverError?: unknown }).driverError;
    if (inner && typeof inner === "object") return inner as { code?: unknown };
    return error as { code?: unknown };
  }
  return {};
}

/** Number of rows a raw write reported, whatever shape the driver returned. */
export function affectedRows(result: unknown): number {
  if (Array.isArray(result) && typeof result[1] === "number") return result[1];
  if (result && typeof result === "object") {
    const r = result as { affected?: number; changes?: number; rowCount?: number };
    return r.affected ?? r.changes ?? r.rowCount ?? 0;
  }
  return 0;
}

/** Raw query through TypeORM returning structured results (rows + affected). */
export async function rawQuery(
  manager: EntityManager,
  sql: string,
  params: unknown[],
): Promise<{ records: unknown[]; affected?: number }> {
  const runner = manager.queryRunner;
  if (runner) return runner.query(sql, params, true);
  const own = manager.connection.createQueryRunner();
  try {
    return await own.query(sql, params, true);
  } finally {
    await own.release();
  }
}
