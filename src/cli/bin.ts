#!/usr/bin/env node
import { main } from "./main";

/** Resolves at the first SIGINT/SIGTERM; a second one exits at once. */
function stopRequest(): Promise<void> {
  let signals = 0;
  return new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        console.error(`hrp-cron: second ${signal}, exiting without waiting`);
        process.exit(130);
      }
      resolve();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

main(process.argv.slice(2), {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  stopRequested: stopRequest(),
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
