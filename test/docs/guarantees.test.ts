import { BACKENDS } from "../helpers";
import { itRunsExample } from "./givens";

/** The example of docs/guarantees.md. */
describe.each(BACKENDS)("docs/guarantees.md on %s", (kind) => {
  itRunsExample(kind, "guarantees/bad-input");
});
