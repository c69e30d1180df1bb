import { execFileSync } from "node:child_process";
import { join } from "node:path";

/**
 * Child-process tests (real worker processes, the CLI's signal handling) run
 * the compiled JavaScript, so compile once before the suite.
 */
export default function globalSetup(): void {
  const root = join(__dirname, "..");
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], { cwd: root, stdio: "inherit" });
}
