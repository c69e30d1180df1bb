export { main } from "./main";
export { defineConfig, type HrpCronConfig, type SetupContext } from "./config";
export { loadConfig } from "./loadConfig";
export type { CliIo } from "./database";
