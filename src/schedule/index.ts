export {
  INTERVAL_TYPES, MAX_INTERVAL_NUMBER, addInterval, checkInterval, checkTimeZone, isCalendarInterval, isIntervalType, planOf, stepPlan,
  type CalendarIntervalType, type IntervalType,
} from "./interval";
export { nextCronOccurrence, validateCronExpression } from "./cronExpression";
export * from "./schedule";
export { MAX_DATE_MS, MIN_DATE_MS, checkDateRange, inDateRange } from "./dateRange";
