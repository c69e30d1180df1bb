/** Jest runs the TypeScript sources directly through ts-jest; tests use real SQLite files (and PostgreSQL when HRP_CRON_PG_URL is set). */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 60000,
  maxWorkers: 2,
  globalSetup: "<rootDir>/test/globalSetup.ts",
};
