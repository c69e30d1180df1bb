import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataSource, type DataSourceOptions } from "typeorm";
import { DriverNotInstalledError, HrpCronError } from "../../src";
import { assertDriverInstalled, DRIVER_PACKAGES } from "../../src/backend";

/**
 * The database drivers are optional peer dependencies: a missing one is
 * reported by name, with the command to install it, before TypeORM tries to
 * load it. "Missing" is real here: Node resolves the package from an empty
 * temporary folder, where it cannot be found. The end-to-end case (a packed
 * hrp-cron installed without drivers, its CLI run) is in
 * test/packaging/packedInstall.test.ts.
 */
describe("the driver package check", () => {
  let empty: string;
  beforeAll(() => {
    empty = mkdtempSync(join(tmpdir(), "hrp-cron-no-drivers-"));
  });
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  const cases: Array<[DataSourceOptions, string]> = [
    [{ type: "better-sqlite3", database: ":memory:" }, "better-sqlite3"],
    [{ type: "postgres", url: "postgres://nobody@127.0.0.1:1/none" }, "pg"],
  ];

  it.each(cases)("names the package a %j DataSource needs when it cannot be found", (options, packageName) => {
    let thrown: unknown;
    try {
      assertDriverInstalled(options, empty);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DriverNotInstalledError);
    expect(thrown).toBeInstanceOf(HrpCronError);
    const error = thrown as DriverNotInstalledError;
    expect(error.code).toBe("DRIVER_NOT_INSTALLED");
    expect(error.name).toBe("DriverNotInstalledError");
    expect(error.context).toEqual({ driverType: options.type, packageName });
    expect(error.message).toContain(`npm install ${packageName}`);
    expect((error.cause as { code?: string }).code).toBe("MODULE_NOT_FOUND");
  });

  it.each(cases)("passes a %j DataSource whose package is installed (here, as a devDependency)", (options) => {
    expect(() => assertDriverInstalled(options)).not.toThrow();
  });

  it("passes options that bring their own driver module, and leaves other driver types to backendFor", () => {
    expect(() =>
      assertDriverInstalled({ type: "postgres", driver: { Client: class {} } } as DataSourceOptions, empty),
    ).not.toThrow();
    expect(() => assertDriverInstalled({ type: "mysql" } as DataSourceOptions, empty)).not.toThrow();
  });

  it("knows the package TypeORM itself loads for each supported driver", async () => {
    // A DataSource built with the driver module TypeORM would load from that package works end to end.
    const betterSqlite3 = await import(DRIVER_PACKAGES["better-sqlite3"]);
    const sqlite = new DataSource({ type: "better-sqlite3", database: ":memory:", driver: betterSqlite3.default });
    await sqlite.initialize();
    expect(await sqlite.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    await sqlite.destroy();
    expect((await import(DRIVER_PACKAGES.postgres)).default).toHaveProperty("Pool");
  });
});
