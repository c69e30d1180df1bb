import type { Route } from "../../router";
import { cronActivate, cronDeactivate, cronRunNow, typeRunNow, typeStart, typeStop } from "./actions";
import { cronPage } from "./cronDetail";
import { cronsPage } from "./list";
import { jobTypePage } from "./typeDetail";

export { CRONS_MESSAGES } from "./messages";

/** Scheduled actions: recurring crons and Scheduled Job Types, their details and their operator actions. */
export const cronsRoutes: readonly Route[] = [
  { method: "GET", pattern: "/crons", handler: cronsPage },
  { method: "GET", pattern: "/crons/:id", handler: cronPage },
  { method: "POST", pattern: "/crons/:id/run-now", handler: cronRunNow },
  { method: "POST", pattern: "/crons/:id/activate", handler: cronActivate },
  { method: "POST", pattern: "/crons/:id/deactivate", handler: cronDeactivate },
  { method: "GET", pattern: "/job-types/:id", handler: jobTypePage },
  { method: "POST", pattern: "/job-types/:id/run-now", handler: typeRunNow },
  { method: "POST", pattern: "/job-types/:id/stop", handler: typeStop },
  { method: "POST", pattern: "/job-types/:id/start", handler: typeStart },
];
