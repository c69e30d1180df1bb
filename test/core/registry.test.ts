import "reflect-metadata";
import { JOB_METHODS_METADATA, JOB_MODEL_METADATA, jobMethod, jobModel, jobModelOf, ModelRegistry } from "../../src";

/**
 * Issue 15: the `@jobModel` metadata is public, so a framework (hrp-cron/nest)
 * finds job models among its objects by reading it, without trying each one.
 * Pure: no database.
 */
describe("job model metadata", () => {
  @jobModel("test.invoice")
  class InvoiceJobs {
    readonly prefix = "sent";
    @jobMethod()
    send(_env: unknown, id: number) {
      return `${this.prefix} ${id}`;
    }
    helper() {}
  }
  class LateInvoiceJobs extends InvoiceJobs {}

  it("is readable under its public keys, and by jobModelOf on a class, an instance or a subclass", () => {
    expect(Reflect.getMetadata(JOB_MODEL_METADATA, InvoiceJobs)).toBe("test.invoice");
    expect(Reflect.getMetadata(JOB_METHODS_METADATA, InvoiceJobs)).toEqual(["send"]);
    expect(jobModelOf(InvoiceJobs)).toBe("test.invoice");
    expect(jobModelOf(new InvoiceJobs())).toBe("test.invoice");
    expect(jobModelOf(LateInvoiceJobs)).toBe("test.invoice");
  });

  it("is undefined for anything else, never a throw", () => {
    for (const value of [class Plain {}, {}, Object.create(null), null, undefined, 42, "test.invoice", () => 1])
      expect(jobModelOf(value)).toBeUndefined();
  });

  it("registers an instance's marked methods, bound to it, under its model", async () => {
    const registry = new ModelRegistry().registerInstance(new InvoiceJobs());
    expect(registry.list()).toEqual(["test.invoice.send"]);
    expect(await registry.resolve("test.invoice", "send")({} as never, 7)).toBe("sent 7");
  });
});
