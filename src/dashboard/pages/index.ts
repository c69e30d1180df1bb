import { COMMON_MESSAGES } from "../i18n/common";
import type { Messages } from "../i18n/messages";
import type { Route } from "../router";
import { ACTIONS_MESSAGES, actionsRoutes } from "./actions";
import { CRONS_MESSAGES, cronsRoutes } from "./crons";
import { JOB_DETAIL_MESSAGES, JOBS_MESSAGES, jobsRoutes } from "./jobs";
import { OVERVIEW_MESSAGES, overviewRoutes } from "./overview";
import { QUEUES_MESSAGES, queuesRoutes } from "./queues";

/** Every page and action of the dashboard, and the texts they use. */

export const ROUTES: readonly Route[] = [
  ...overviewRoutes,
  ...jobsRoutes,
  ...cronsRoutes,
  ...queuesRoutes,
  ...actionsRoutes,
];

export const MESSAGES: ReadonlyArray<Messages<string>> = [
  COMMON_MESSAGES,
  OVERVIEW_MESSAGES,
  JOBS_MESSAGES,
  JOB_DETAIL_MESSAGES,
  CRONS_MESSAGES,
  QUEUES_MESSAGES,
  ACTIONS_MESSAGES,
];
