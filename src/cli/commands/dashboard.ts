import { DEFAULTS } from "../../core/options";
import { intFlag, noPositionals, stringFlag, UsageError } from "../args";
import { withDatabase, type Command, type CliIo } from "../database";
import { DASHBOARD_ENV, standaloneAuth } from "../dashboardAuth";
import { describeAccess, serveStandaloneDashboard, type StandaloneDashboardOptions } from "../dashboardServer";
import { withExistingDatabase } from "../readOnly";

/** `hrp-cron dashboard`: the web dashboard on its own, over the config's database. */

export const DASHBOARD_COMMANDS: Record<string, Command> = {
  dashboard: {
    summary: "serve the web dashboard (jobs, actions, in English and Chinese) until Ctrl-C",
    description:
      "Listens on 127.0.0.1 unless told, where the local user gets in without credentials (as local:<OS user>).\n" +
      `Any other --host needs credentials from the environment: ${DASHBOARD_ENV.token} (send it as\n` +
      `Authorization: Bearer, or open the URL with ?token=... once: a cookie keeps the session), or\n` +
      `${DASHBOARD_ENV.user} and ${DASHBOARD_ENV.password} (HTTP basic auth); set on 127.0.0.1 they are\n` +
      `required there too. ${DASHBOARD_ENV.access}=read-only shows everything and allows no action. Actions\n` +
      "are recorded in the operator action log (hrp-cron actions) with the login, address and browser.",
    options: {
      port: {
        type: "string",
        value: "N",
        help: `port to listen on (default ${DEFAULTS.dashboard.port}; 0: any free port)`,
      },
      host: {
        type: "string",
        value: "H",
        help: `address to listen on (default ${DEFAULTS.dashboard.host}; others need credentials)`,
      },
      "base-path": {
        type: "string",
        value: "P",
        help: "serve it below this path, as behind a reverse proxy (default: the config's, else /)",
      },
    },
    examples: [
      "hrp-cron dashboard",
      "HRP_CRON_DASHBOARD_TOKEN=$(openssl rand -hex 24) hrp-cron dashboard --host 0.0.0.0 --base-path /jobs-admin",
    ],
    async run({ args, config, io }) {
      noPositionals(args);
      const host = stringFlag(args, "host") ?? DEFAULTS.dashboard.host;
      if (host.trim() === "") throw new UsageError("--host needs an address, such as 127.0.0.1", "dashboard");
      const port = intFlag(args, "port", 0, 65_535) ?? DEFAULTS.dashboard.port;
      const basePath = stringFlag(args, "base-path");
      const auth = standaloneAuth(host, process.env); // refuses before anything is opened
      // Read-only: the database as it is (never migrated or created); else as every command that writes.
      const open = auth.access === "read-only" ? withExistingDatabase : withDatabase;
      return open(config, async (dataSource) => {
        const served = await startDashboard({ dataSource, config, auth, host, port, basePath }, io);
        io.out("Ctrl-C stops it");
        await io.stopRequested;
        await served.close();
        return 0;
      });
    },
  },
};

/**
 * Serves the dashboard and prints where and for whom:
 * `dashboard: http://127.0.0.1:8787/ (full access for local:root, from this machine only)`.
 */
export async function startDashboard(
  options: StandaloneDashboardOptions,
  io: CliIo,
): Promise<{ close(): Promise<void> }> {
  const served = await serveStandaloneDashboard(options);
  io.out(`dashboard: ${served.url} (${describeAccess(options.auth)})`);
  return served;
}
