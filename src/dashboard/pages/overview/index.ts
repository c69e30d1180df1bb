import type { Route } from "../../router";
import { overviewPage } from "./page";
import { workersPage } from "./workers";

export { OVERVIEW_MESSAGES } from "./messages";

/** The overview (health report) and the workers page. */
export const overviewRoutes: readonly Route[] = [
  { method: "GET", pattern: "/", handler: overviewPage },
  { method: "GET", pattern: "/workers", handler: workersPage },
];
