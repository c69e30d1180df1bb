export * from "./interval";
export * from "./cronExpression";
export * from "./schedule";
