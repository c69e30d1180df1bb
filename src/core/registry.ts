import "reflect-metadata";
import { UnknownMethodError, ValidationError } from "./errors";
import { isJobDefinition, type JobDefinition } from "./jobDefinition";
import { joinMethodName } from "./methodName";
import { describe, guarded } from "./validate";
import type { JobEnv } from "./types";

/** A job method: gets the job's {@link JobEnv} and the stored JSON arguments. */
export type JobMethod = (env: JobEnv, ...args: any[]) => unknown;

/** The methods of one model, by name. */
export type ModelMethods = Record<string, JobMethod>;

const NAME_RE = /^[A-Za-z_][\w.-]*$/;

/**
 * The allow-list of what jobs may run. Only methods registered here can
 * ever be executed; a job naming anything else fails with
 * {@link UnknownMethodError}. Models are named like Odoo models
 * (`hrp.asset.receiving.application`), methods like JS functions.
 *
 * ```ts
 * const registry = new ModelRegistry();
 * registry.register("hrp.asset.receiving.application", {
 *   async createAssetAcceptanceAccountMove(env, ids: number[]) {
 *     await env.manager.insert(AccountMove, ids.map((id) => ({ assetId: id, createUid: env.uid })));
 *   },
 * });
 * ```
 */
export class ModelRegistry {
  private readonly models = new Map<string, Map<string, JobMethod>>();
  private readonly names = new WeakMap<Function, string>();

  /**
   * Registers (or extends) `model` with `methods`. Methods are called with
   * `this` bound to the `methods` object. Re-registering a method replaces it.
   */
  register(model: string, methods: ModelMethods | object): this {
    if (typeof model !== "string" || !NAME_RE.test(model)) {
      throw new ValidationError(
        "model",
        `model names are non-empty identifiers like "hrp.asset", got ${describe(model)}`,
        model,
      );
    }
    if (typeof methods !== "object" || methods === null) {
      throw new ValidationError(
        "methods",
        `expected an object of functions ({ name(env, ...args) { ... } }), got ${methods === null ? "null" : typeof methods}`,
        undefined,
      );
    }
    const table = this.models.get(model) ?? new Map<string, JobMethod>();
    for (const [name, fn] of guarded("methods", () => methodsOf(methods))) {
      if (!NAME_RE.test(name)) throw new ValidationError("method", `invalid method name ${JSON.stringify(name)}`, name);
      const bound = fn.bind(methods) as JobMethod;
      table.set(name, bound);
      this.names.set(fn, joinMethodName(model, name));
      this.names.set(bound, joinMethodName(model, name));
    }
    this.models.set(model, table);
    return this;
  }

  /**
   * Registers typed jobs made by `defineJob`, each under its `model.method`
   * (replacing a method registered there before).
   */
  define(...jobs: ReadonlyArray<JobDefinition<any, any>>): this {
    for (const [i, job] of jobs.entries()) {
      if (!guarded(`jobs[${i}]`, () => isJobDefinition(job)))
        throw new ValidationError(`jobs[${i}]`, "expected a job made by defineJob(name, method)", undefined);
      this.register(job.model, { [job.method]: job.run });
    }
    return this;
  }

  /**
   * Registers the methods of a class instance marked with {@link jobMethod}
   * under the model name given by {@link jobModel} (or `model`).
   */
  registerInstance(instance: object, model?: string): this {
    if (typeof instance !== "object" || instance === null)
      throw new ValidationError("instance", "expected an instance of a @jobModel class", undefined);
    const ctor = instance.constructor;
    const name = model ?? jobModelOf(ctor);
    if (!name)
      throw new ValidationError(
        "model",
        `${ctor.name} has no @jobModel("...") decorator; pass the model name`,
        ctor.name,
      );
    const marked: string[] = Reflect.getMetadata(JOB_METHODS_METADATA, ctor) ?? [];
    const methods: ModelMethods = {};
    for (const key of marked) methods[key] = (instance as Record<string, JobMethod>)[key].bind(instance);
    return this.register(name, methods);
  }

  /** True when `model.method` is registered. */
  has(model: string, method: string): boolean {
    return this.models.get(model)?.has(method) ?? false;
  }

  /** The registered method, or throws {@link UnknownMethodError}. */
  resolve(model: string, method: string): JobMethod {
    const fn = this.models.get(model)?.get(method);
    if (!fn) throw new UnknownMethodError(model, method);
    return fn;
  }

  /** The registered `model.method` name of a function passed to {@link register}, if any. */
  nameOf(fn: Function): string | undefined {
    return this.names.get(fn);
  }

  /** `model.method` names of everything registered, sorted. */
  list(): string[] {
    const out: string[] = [];
    for (const [model, methods] of this.models)
      for (const name of methods.keys()) out.push(joinMethodName(model, name));
    return out.sort();
  }
}

/**
 * `registry` if it is a {@link ModelRegistry}; `optional` allows undefined.
 * @throws ValidationError
 */
export function checkRegistry(registry: unknown, optional = false): ModelRegistry | undefined {
  if (registry === undefined && optional) return undefined;
  if (!guarded("registry", () => registry instanceof ModelRegistry))
    throw new ValidationError("registry", "expected a ModelRegistry (new ModelRegistry().register(...))", undefined);
  return registry as ModelRegistry;
}

/**
 * The metadata key under which {@link jobModel} stores a class's model name
 * (`Reflect.getMetadata(JOB_MODEL_METADATA, SomeClass)`). Public so that a
 * framework can find job models among its objects without trying each one:
 * `hrp-cron/nest` reads it on every Nest provider (through
 * {@link jobModelOf}). A string, not a symbol, so two copies of hrp-cron in
 * one application read each other's classes.
 */
export const JOB_MODEL_METADATA = "hrp-cron:job-model";

/** The metadata key under which {@link jobMethod} lists a class's job methods (an array of method names). */
export const JOB_METHODS_METADATA = "hrp-cron:job-methods";

/** Class decorator naming the model a class's {@link jobMethod}s register under (metadata {@link JOB_MODEL_METADATA}). */
export function jobModel(model: string): ClassDecorator {
  return (target) => Reflect.defineMetadata(JOB_MODEL_METADATA, model, target);
}

/** Method decorator marking a method as runnable by jobs (see {@link ModelRegistry.registerInstance}). */
export function jobMethod(): MethodDecorator {
  return (target, key) => {
    const ctor = (target as object).constructor;
    const list: string[] = [...(Reflect.getMetadata(JOB_METHODS_METADATA, ctor) ?? []), String(key)];
    Reflect.defineMetadata(JOB_METHODS_METADATA, list, ctor);
  };
}

/**
 * The model name {@link jobModel} gave a class (or an instance's class,
 * or a class it extends); undefined for anything else, never a throw.
 *
 * ```ts
 * @jobModel("hrp.asset") class AssetJobs {}
 * jobModelOf(AssetJobs); // "hrp.asset"
 * jobModelOf(new AssetJobs()); // "hrp.asset"
 * jobModelOf({}); // undefined
 * ```
 */
export function jobModelOf(target: unknown): string | undefined {
  const ctor =
    typeof target === "function"
      ? target
      : typeof target === "object" && target !== null
        ? (target as { constructor?: unknown }).constructor
        : undefined;
  if (typeof ctor !== "function") return undefined;
  const name: unknown = Reflect.getMetadata(JOB_MODEL_METADATA, ctor);
  return typeof name === "string" ? name : undefined;
}

function methodsOf(methods: object): Array<[string, (...a: unknown[]) => unknown]> {
  const out: Array<[string, (...a: unknown[]) => unknown]> = [];
  for (const [name, value] of Object.entries(methods)) {
    if (typeof value === "function") out.push([name, value as (...a: unknown[]) => unknown]);
  }
  return out;
}
