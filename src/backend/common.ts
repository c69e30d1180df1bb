import type { EntityManager, EntityTarget, ObjectLiteral } from "typeorm";
import type { JsonColumns } from "./backend";

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

/**
 * Rows as the JSON text of a `jsonTable` parameter: only the listed
 * columns, dates through `toDbDate`, booleans through `toDbBool`.
 */
export function encodeJsonRows(
  columns: JsonColumns,
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  toDbDate: (date: Date) => unknown,
  toDbBool: (value: boolean) => unknown,
): string {
  const names = Object.keys(columns);
  return JSON.stringify(
    rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const name of names) {
        const value = row[name];
        out[name] =
          value instanceof Date ? toDbDate(value) : typeof value === "boolean" ? toDbBool(value) : (value ?? null);
      }
      return out;
    }),
  );
}

/**
 * Entities from raw rows (`SELECT *`), converted the way TypeORM converts
 * what it loads itself (dates, booleans), without building a query.
 */
export function hydrate<T extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<T>,
  rows: readonly Record<string, unknown>[],
): T[] {
  const metadata = manager.connection.getMetadata(target);
  const driver = manager.connection.driver;
  return rows.map((row) => {
    const entity = metadata.create() as T;
    for (const column of metadata.columns)
      column.setEntityValue(entity, driver.prepareHydratedValue(row[column.databaseName], column));
    return entity;
  });
}
