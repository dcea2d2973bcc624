import manifest from "./deno.json" with { type: "json" };
import { ConfigError, loadConfig } from "./src/config.ts";
import { CalendarFeeds } from "./src/calendar/feeds.ts";
import { createApp } from "./src/http/app.ts";
import { Metrics } from "./src/http/metrics.ts";
import { createLogger, describeError } from "./src/log.ts";
import { TaskActors } from "./src/runtime/actors.ts";
import { Scheduler } from "./src/runtime/firing.ts";
import { TaskService } from "./src/runtime/tasks.ts";
import { type EventStore, openStore } from "./src/store/mod.ts";

async function main(): Promise<number> {
  const config = loadConfig(Deno.env.toObject());
  if (config instanceof ConfigError) {
    console.error(`chronolog: invalid configuration: ${config.message}`);
    return 2;
  }
  const logger = createLogger(config.logLevel);
  if (config.jwtSecret === null) {
    logger.warn(
      "CHRONOLOG_JWT_SECRET is not set: authentication is off, " +
        `so the service listens on loopback (${config.host}) only`,
    );
  }

  const storeName = config.databaseUrl === null
    ? `embedded PGlite in ${config.dataDir}`
    : "PostgreSQL (DATABASE_URL)";
  let store: EventStore;
  try {
    store = await openStore({
      databaseUrl: config.databaseUrl?.reveal() ?? null,
      dataDir: config.dataDir,
    });
  } catch (error) {
    // The driver's message may quote the URL; say which store failed and why, not the secret.
    console.error(`chronolog: cannot open the event log (${storeName}): ${describeError(error)}`);
    return 1;
  }
  const loadStarted = performance.now();
  const actors = new TaskActors(store);
  const loaded = await actors.load();
  logger.info(
    `Event log: ${storeName}; ${loaded} live tasks loaded in ${
      Math.round(performance.now() - loadStarted)
    } ms`,
  );
  const tasks = new TaskService(store, actors);
  const metrics = new Metrics({ actors, store });
  const scheduler = new Scheduler(store, actors, {
    logger,
    observer: metrics.firing,
    maxConcurrent: config.maxConcurrent,
    signingSecret: config.webhookSecret?.reveal() ?? null,
    allowCommand: config.allowCommand,
  });
  metrics.watch(scheduler);
  await scheduler.start();
  logger.info(`Scheduler running: ${scheduler.status().timersArmed} tasks armed`);

  const app = createApp({
    version: manifest.version,
    logger,
    tasks: {
      tasks,
      defaultTimeoutS: config.taskTimeoutS,
      allowCommand: config.allowCommand,
    },
    scheduler,
    store,
    metrics,
    feeds: new CalendarFeeds(store, tasks, { publicUrl: config.publicUrl }),
    jwtSecret: config.jwtSecret?.reveal() ?? null,
    webhook: {
      secret: config.webhookSecret?.reveal() ?? null,
      allowedIps: config.webhookAllowedIps,
      rateLimit: config.webhookRateLimit,
    },
  });
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: ({ hostname, port }) => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        logger.info(`Chronolog ${manifest.version} listening on http://${host}:${port}/`);
      },
    }, app.fetch);
  } catch (error) {
    console.error(`chronolog: cannot listen on ${config.host}:${config.port}: ${error}`);
    await scheduler.stop(0);
    await store.close();
    return 1;
  }

  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  // Firing stops at once; runs in flight get the drain time, then the callers waiting on them
  // are answered, so requests in flight finish within it too.
  const drainMs = config.shutdownTimeoutS * 1000;
  let stopped: Promise<number> | null = null;
  function shutDown(): void {
    logger.info("Shutting down: no new runs; draining runs and requests in flight");
    for (const signal of signals) Deno.removeSignalListener(signal, shutDown);
    stopped = scheduler.stop(drainMs);
    server.shutdown();
  }
  for (const signal of signals) Deno.addSignalListener(signal, shutDown);
  await server.finished;
  const abandoned = await (stopped ?? scheduler.stop(drainMs));
  if (abandoned > 0) {
    logger.warn(`Recorded ${abandoned} runs abandoned at shutdown (cancelled in the log)`);
  }
  await store.close();
  logger.info("Stopped");
  return 0;
}

Deno.exit(await main());
