/**
 * Jest runs the TypeScript sources directly through ts-jest; tests use real SQLite files (and PostgreSQL when HRP_CRON_PG_URL is set).
 *
 * HRP_CRON_TYPEORM_DIR names a folder holding another TypeORM (`<dir>/node_modules/typeorm`, e.g. 0.3.x installed by
 * `.ci/run` into `.tmp/typeorm-0.3`): every `typeorm` import, ours and the tests', then loads that copy, so the suite
 * runs against the other major. The compiler still type-checks against the devDependency.
 */
const path = require("node:path");

const typeormDir = process.env.HRP_CRON_TYPEORM_DIR
  ? path.resolve(process.env.HRP_CRON_TYPEORM_DIR, "node_modules", "typeorm")
  : null;

module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 60000,
  maxWorkers: 2,
  globalSetup: "<rootDir>/test/globalSetup.ts",
  ...(typeormDir ? { moduleNameMapper: { "^typeorm$": typeormDir, "^typeorm/(.*)$": `${typeormDir}/$1` } } : {}),
};
