import { isDomainError } from "../../src/domain/errors.ts";
import { TaskActors } from "../../src/runtime/actors.ts";
import { TaskService } from "../../src/runtime/tasks.ts";
import type { EventStore } from "../../src/store/event_store.ts";
import {
  assert,
  assertEquals,
  createDatabase,
  POSTGRES_ADMIN_URL,
  rpc,
  startService,
  type StoreKind,
} from "../_helpers.ts";

const WRITER = new URL("./_crash_writer.ts", import.meta.url);

/** Every snapshot equals the fold of its stream, and every stream has a snapshot. */
async function assertConsistent(store: EventStore): Promise<number> {
  const counts = await store.counts();
  assertEquals(counts.streams, counts.snapshots);
  const service = new TaskService(store, new TaskActors(store));
  let checked = 0;
  let after: string | null = null;
  for (;;) {
    const page = await store.scanSnapshots(after, 500);
    for (const snapshot of page) {
      const replayed = await service.replay(snapshot.id, { version: snapshot.version });
      assert(!isDomainError(replayed), `${snapshot.id} does not replay`);
      assertEquals(replayed.state, snapshot);
      assertEquals((await store.readStream(snapshot.id)).length, snapshot.version);
      checked++;
    }
    if (page.length < 500) return checked;
    after = page[page.length - 1].id;
  }
}

for (const kind of ["pglite", "postgres"] as StoreKind[]) {
  Deno.test({
    name: `${kind}: kill -9 in the middle of group-committed batches leaves a log that loads`,
    ignore: kind === "postgres" && POSTGRES_ADMIN_URL === null,
    async fn() {
      const database = await createDatabase(kind);
      try {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-all", WRITER.pathname],
          env: {
            CHRONOLOG_DATA_DIR: database.dataDir,
            ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
          },
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        let output = "";
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        // Let a few batches commit, then kill the writer with batches in flight.
        while (!output.includes("batch 2")) {
          const { value, done } = await reader.read();
          if (done) {
            throw new Error(`writer ended early: ${await new Response(child.stderr).text()}`);
          }
          output += value;
        }
        child.kill("SIGKILL");
        const status = await child.status;
        reader.releaseLock();
        await child.stdout.cancel().catch(() => {});
        await child.stderr.cancel();
        assertEquals(status.signal, "SIGKILL");

        const store = await database.open();
        try {
          const checked = await assertConsistent(store);
          assert(checked >= 300, `only ${checked} tasks survived three committed batches`);
          const actors = new TaskActors(store);
          assertEquals(await actors.load(), checked);
          // The log takes appends again.
          const service = new TaskService(store, actors);
          const task = await service.update("b0-1", {
            settings: { name: "after the crash" },
            schedule: null,
            expectedVersion: null,
          }, { actor: null, requestId: null, causation: "test" });
          assert(!isDomainError(task));
        } finally {
          await store.close();
        }
      } finally {
        await database.drop();
      }
    },
  });
}

Deno.test("kill -9 of the service during a burst of creates loses no acknowledged task", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "chronolog_crash_" });
  try {
    const service = await startService({}, { dataDir });
    const acknowledged: string[] = [];
    let stop = false;
    const burst = Promise.all(Array.from({ length: 8 }, async (_, worker) => {
      for (let i = 0; !stop; i++) {
        try {
          const reply = await rpc(service.url, {
            id: i,
            method: "tasks.create",
            params: {
              id: `w${worker}-${i}`,
              name: "burst",
              schedule_type: "interval",
              schedule_expression: "30",
            },
          });
          const body = reply.body as { result?: { id: string } };
          if (body.result) acknowledged.push(body.result.id);
        } catch {
          return; // the connection died with the process
        }
      }
    }));
    while (acknowledged.length < 200) await new Promise((resolve) => setTimeout(resolve, 10));
    await service.kill();
    stop = true;
    await burst;

    const restarted = await startService({}, { dataDir });
    try {
      const page = await rpc(restarted.url, {
        id: 1,
        method: "tasks.list",
        params: { limit: 1 },
      });
      const total = (page.body as { result: { total: number } }).result.total;
      assert(total >= acknowledged.length, `${total} tasks, ${acknowledged.length} acknowledged`);
      for (const id of acknowledged.slice(-20)) {
        const reply = await rpc(restarted.url, {
          id,
          method: "tasks.get",
          params: { task_id: id },
        });
        assertEquals((reply.body as { result: { id: string } }).result.id, id);
      }
      assert(restarted.output().includes(`${total} live tasks loaded`), restarted.output());
    } finally {
      await restarted.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
