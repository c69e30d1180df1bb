import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Dashboard, nodeListener, type DashboardAccess } from "../../src/dashboard";
import type { TestDb } from "../helpers";

/** A dashboard over `db` served on a free port of 127.0.0.1, for a browser to visit. */
export async function serveDashboard(
  db: TestDb,
  access: (login: string) => DashboardAccess = () => "all",
): Promise<{ readonly origin: string; close(): Promise<void> }> {
  // The login comes from a header the test's browser context sets, as an auth proxy in front of an app would.
  const dashboard = new Dashboard<{ headers: Record<string, string | string[] | undefined> }>({
    dataSource: db.dataSource,
    resolveUser: (req) => {
      const login = req.headers["x-test-user"];
      return typeof login === "string" ? { login } : null;
    },
    resolveAccess: (user) => access(user.login),
    pageSize: 10,
  });
  const server: Server = createServer(nodeListener(dashboard));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
