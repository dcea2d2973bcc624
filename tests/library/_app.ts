/**
 * A program that embeds Chronolog the way the README shows: a Hono app served with
 * serveWithScheduler (started when it listens, stopped on SIGTERM). Used by hono_test.ts as a
 * real process: DATABASE_URL or CHRONOLOG_DATA_DIR say where the log is, PORT where to listen.
 */
import { Hono } from "hono";
import { createScheduler, serveWithScheduler } from "../../src/mod.ts";

const scheduler = await createScheduler({
  databaseUrl: Deno.env.get("DATABASE_URL") ?? null,
  dataDir: Deno.env.get("CHRONOLOG_DATA_DIR") ?? null,
  logLevel: "error",
});
const fired: string[] = [];
await scheduler.interval({ seconds: 1 }, ({ scheduledFor }) => {
  fired.push(scheduledFor.toISOString());
  return { beat: fired.length };
}, { id: "heartbeat" });
await scheduler.cron({ hour: 3 }, () => "report sent", { name: "Nightly report" });
await scheduler.daily("12:00", async ({ signal }) => {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  signal.throwIfAborted();
  return "slow work done";
}, { id: "slow" });

const app = new Hono();
app.get("/jobs", async (c) => c.json(await scheduler.getJobs()));
app.get("/fired", (c) => c.json(fired));
app.post("/jobs/:id/run", async (c) => c.json(await scheduler.runNow(c.req.param("id"))));

serveWithScheduler(scheduler, app, {
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT")),
  onListen: () => console.log("listening"),
});
