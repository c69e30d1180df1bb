export { main } from "./main";
export { defineConfig, loadConfig, type HrpCronConfig, type SetupContext } from "./config";
export type { CliIo } from "./database";
