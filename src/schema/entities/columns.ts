import { ColumnOptions } from "typeorm";

/**
 * Column helpers shared by the entities. Dates use TypeORM's `Date` type,
 * which maps to `datetime` (stored as UTC text) on SQLite and to a timestamp
 * on PostgreSQL; the migrations create `timestamptz` there, so instants are
 * unambiguous on both backends.
 */
export const dateColumn = (name: string, extra: Partial<ColumnOptions> = {}): ColumnOptions => ({
  name,
  type: Date,
  nullable: true,
  ...extra,
});

/** An integer column that reads back as a JS number on both drivers. */
export const intColumn = (name: string, extra: Partial<ColumnOptions> = {}): ColumnOptions => ({
  name,
  type: "integer",
  ...extra,
});
