/**
 * Jest runs the TypeScript sources directly through ts-jest; tests use real SQLite files (and PostgreSQL when HRP_CRON_PG_URL is set).
 *
 * HRP_CRON_TYPEORM_DIR names a folder holding another TypeORM (`<dir>/node_modules/typeorm`, e.g. 0.3.x installed by
 * `.ci/run` into `.tmp/typeorm-0.3`): every `typeorm` import made in jest, ours and the tests', then loads that copy,
 * so the suite runs against the other major. The compiler still type-checks against the devDependency. That run
 * leaves out what would not exercise the other copy: real worker processes (test/processes: they run the compiled
 * dist/ with plain Node, which loads the devDependency), the browser tests (test/browser: Chromium against the
 * compiled `hrp-cron dashboard`), pure schedule maths (test/scheduling: no TypeORM), and the
 * static checks of the sources and the package (architecture.test.ts, test/packaging).
 */
const path = require("node:path");

const typeormDir = process.env.HRP_CRON_TYPEORM_DIR
  ? path.resolve(process.env.HRP_CRON_TYPEORM_DIR, "node_modules", "typeorm")
  : null;

const HRP_CRON = {
  "^hrp-cron$": "<rootDir>/src/index.ts",
  "^hrp-cron/testing$": "<rootDir>/src/testing/index.ts",
  "^hrp-cron/nest$": "<rootDir>/src/nest/index.ts",
  "^hrp-cron/dashboard$": "<rootDir>/src/dashboard/index.ts",
};

module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 60000,
  maxWorkers: 2,
  globalSetup: "<rootDir>/test/globalSetup.ts",
  // The example imports the package by its name, as an application would (tsconfig.json maps it for the compiler).
  // Mapped `typeorm` imports include those of packages in node_modules (@nestjs/typeorm): one copy in a run.
  moduleNameMapper: HRP_CRON,
  ...(typeormDir
    ? {
        moduleNameMapper: { ...HRP_CRON, "^typeorm$": typeormDir, "^typeorm/(.*)$": `${typeormDir}/$1` },
        testPathIgnorePatterns: [
          "/node_modules/",
          "<rootDir>/test/processes/",
          "<rootDir>/test/browser/",
          "<rootDir>/test/scheduling/",
          "<rootDir>/test/packaging/",
          "<rootDir>/test/architecture.test.ts",
        ],
      }
    : {}),
};
