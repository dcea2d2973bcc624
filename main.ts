import manifest from "./deno.json" with { type: "json" };
import { ConfigError, loadConfig } from "./src/config.ts";
import { createApp } from "./src/http/app.ts";
import { createLogger } from "./src/log.ts";

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

  const app = createApp({ version: manifest.version, logger });
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
    return 1;
  }

  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  function shutDown(): void {
    logger.info("Shutting down: finishing requests in flight");
    for (const signal of signals) Deno.removeSignalListener(signal, shutDown);
    server.shutdown();
  }
  for (const signal of signals) Deno.addSignalListener(signal, shutDown);
  await server.finished;
  logger.info("Stopped");
  return 0;
}

Deno.exit(await main());
