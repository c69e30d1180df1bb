import { DataSource, type DataSourceOptions, type EntitySchema } from "typeorm";
import { assertDriverInstalled } from "../backend";
import { optionKeys } from "../core/options";
import { checkArray, checkName, checkOptions, optionalBool } from "../core/validate";
import { ENTITIES } from "../schema/entities";
import { migrate } from "../schema/migrate";

/** Options of {@link createTestDataSource}. */
export interface TestDataSourceOptions {
  /** The application's entities (classes or schemas), besides hrp-cron's `ENTITIES`. @defaultValue [] */
  readonly entities?: ReadonlyArray<Function | EntitySchema<any>>;
  /** The application's TypeORM migrations, run after hrp-cron's (they may refer to its tables). @defaultValue [] */
  readonly migrations?: ReadonlyArray<Function>;
  /**
   * Create the application's tables from its entities (TypeORM's
   * `synchronize`; hrp-cron's tables come from its migrations and are never
   * synchronized). @defaultValue true, or false when `migrations` are given
   */
  readonly synchronize?: boolean;
  /** `":memory:"`, or the path of an SQLite file (kept after `destroy()`). @defaultValue ":memory:" */
  readonly database?: string;
  /** `migrate`'s `usersTable`: false when the application resolves its users itself. @defaultValue true */
  readonly usersTable?: boolean;
}

const TEST_DATA_SOURCE_KEYS = optionKeys<TestDataSourceOptions>({
  entities: true,
  migrations: true,
  synchronize: true,
  database: true,
  usersTable: true,
});

/**
 * A fresh, initialized SQLite DataSource (in memory by default) with
 * hrp-cron's tables (`migrate`, so `res_users` holds Administrator as id 1),
 * then the application's: its `migrations` run, or its `entities`
 * synchronized. One per test (or per test file) keeps tests apart; call
 * `destroy()` after. Needs `better-sqlite3` (a dev dependency is enough).
 *
 * For PostgreSQL, open your own DataSource on a test database and call
 * `migrate(dataSource)`: every other helper works on both.
 *
 * ```ts
 * const dataSource = await createTestDataSource({ entities: [Application, AccountMove] });
 * afterEach(() => dataSource.destroy());
 * ```
 * @throws DriverNotInstalledError when better-sqlite3 is not installed
 * @throws ValidationError for unknown or malformed options
 */
export async function createTestDataSource(options: TestDataSourceOptions = {}): Promise<DataSource> {
  const o = checkOptions("options", options, TEST_DATA_SOURCE_KEYS);
  const entities = o.entities === undefined ? [] : (checkArray("entities", o.entities) as Function[]);
  const migrations = o.migrations === undefined ? [] : (checkArray("migrations", o.migrations) as Function[]);
  const synchronize = optionalBool("synchronize", o.synchronize, migrations.length === 0);
  const usersTable = optionalBool("usersTable", o.usersTable, true);
  const dataSourceOptions: DataSourceOptions = {
    type: "better-sqlite3",
    database: o.database === undefined ? ":memory:" : checkName("database", o.database, 4096),
    entities: [...ENTITIES, ...entities],
    migrations,
    synchronize: false,
    logging: false,
  };
  assertDriverInstalled(dataSourceOptions);
  const dataSource = new DataSource(dataSourceOptions);
  await dataSource.initialize();
  try {
    await migrate(dataSource, { usersTable });
    if (migrations.length > 0) await dataSource.runMigrations();
    if (synchronize) await dataSource.synchronize();
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}
