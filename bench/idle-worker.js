// An idle hrp-cron worker for the idle-cost measurement: prints its RSS when asked (stdin line), exits on SIGTERM.
"use strict";
const path = require("node:path");
const { DataSource } = require("typeorm");
const lib = require(path.join(__dirname, "..", "dist", "src"));

(async () => {
  const ds = new DataSource({ type: "postgres", url: process.env.BENCH_PG_URL, entities: lib.ENTITIES, poolSize: 4 });
  await ds.initialize();
  await lib.migrate(ds);
  const dispatcher = new lib.Dispatcher(ds, new lib.ModelRegistry(), {
    logger: lib.consoleLogger("error"),
    pollIntervalMs: Number(process.env.BENCH_POLL_MS || 5000),
  });
  await dispatcher.start();
  console.log("ready");
  process.stdin.on("data", () => console.log(`rss ${process.memoryUsage().rss}`));
  process.on("SIGTERM", async () => {
    await dispatcher.stop();
    await ds.destroy();
    process.exit(0);
  });
})();
