import { BACKENDS } from "../helpers";
import { itRunsExample } from "./givens";

/** The example of docs/odoo-frappe.md. */
describe.each(BACKENDS)("docs/odoo-frappe.md on %s", (kind) => {
  itRunsExample(kind, "odoo-frappe/seed-calls");
});
