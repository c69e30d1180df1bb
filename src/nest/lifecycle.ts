import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from "@nestjs/common";
import { DiscoveryService } from "@nestjs/core";
import { ConfigError } from "../core/errors";
import { jobModelOf, ModelRegistry } from "../core/registry";
import { Scheduler } from "../scheduler/scheduler";
import { Dispatcher } from "../worker/dispatcher";
import type { ResolvedModuleOptions } from "./options";
import { HRP_CRON_OPTIONS } from "./providers";

/**
 * `HrpCronModule`'s part in the application's lifecycle:
 *
 * - `onModuleInit` (every provider exists by then): the providers whose
 *   class is marked `@jobModel` are registered into the registry, each as
 *   its instance (so its injected services work in its job methods).
 * - `onApplicationBootstrap`: the scheduler's events synced, the dispatcher
 *   started, the scheduler started — each when the options run it.
 * - `onModuleDestroy` (`app.close()`, or a signal after
 *   `app.enableShutdownHooks()`): the scheduler stopped, then the
 *   dispatcher (running jobs get `gracefulStopMs` to finish). It is the
 *   first shutdown hook, so the DataSource — which `TypeOrmModule` destroys
 *   in `onApplicationShutdown` — is still open.
 */
@Injectable()
export class HrpCronLifecycle implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(HRP_CRON_OPTIONS) private readonly options: ResolvedModuleOptions,
    @Inject(ModelRegistry) private readonly registry: ModelRegistry,
    @Inject(Dispatcher) private readonly dispatcher: Dispatcher,
    @Inject(Scheduler) private readonly scheduler: Scheduler,
  ) {}

  onModuleInit(): void {
    registerJobModels(this.discovery.getProviders(), this.registry);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.scheduler) await this.scheduler.sync();
    if (this.options.worker) await this.dispatcher.start();
    if (this.options.scheduler) await this.scheduler.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.scheduler.stop();
    await this.dispatcher.stop(); // also closes threads a stopped dispatcher's runDue() started
  }
}

/** What {@link registerJobModels} reads of a Nest provider (its `InstanceWrapper`). */
export interface DiscoveredProvider {
  readonly name: unknown;
  readonly instance: unknown;
  readonly metatype: unknown;
  readonly isTransient: boolean;
  isDependencyTreeStatic(): boolean;
}

/**
 * Registers every provider whose class is marked `@jobModel` (read by
 * `jobModelOf`, no provider tried) as its instance. A provider declared in
 * several modules is registered once per instance (the last one's methods
 * serve). Returns the model names registered.
 * @throws ConfigError for a job model that is request-scoped or transient: jobs run outside any request
 */
export function registerJobModels(providers: readonly DiscoveredProvider[], registry: ModelRegistry): string[] {
  const seen = new Set<object>();
  const models: string[] = [];
  for (const wrapper of providers) {
    const instance: unknown = wrapper.instance;
    const model = jobModelOf(typeof instance === "object" && instance !== null ? instance : wrapper.metatype);
    if (model === undefined) continue;
    if (wrapper.isTransient || !wrapper.isDependencyTreeStatic())
      throw new ConfigError(
        `job model ${String(wrapper.name)} ("${model}") is request-scoped or transient (or depends on such a provider): jobs run outside any request, so a job model must be a singleton (the default scope)`,
        { model, provider: String(wrapper.name) },
      );
    if (typeof instance !== "object" || instance === null || seen.has(instance)) continue;
    seen.add(instance);
    registry.registerInstance(instance);
    models.push(model);
  }
  return models;
}
