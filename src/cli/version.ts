import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * hrp-cron's version, from its package.json: the nearest one above this
 * file named "hrp-cron" (the sources and the compiled `dist/src` sit at
 * different depths).
 */
export function packageVersion(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "hrp-cron" && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return "unknown";
  }
}
