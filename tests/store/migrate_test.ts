/**
 * Migrations are read from the repository's folder, or, when the code was imported over HTTP
 * (the published package), fetched by the names migrate.ts lists.
 */
import { MIGRATION_FILES, MIGRATIONS_DIR, readMigrations } from "../../src/store/migrate.ts";
import { assert, assertEquals } from "../_helpers.ts";

Deno.test("the listed migration files are exactly the folder's", async () => {
  const folder = (await Array.fromAsync(Deno.readDir(MIGRATIONS_DIR)))
    .map((entry) => entry.name).filter((name) => name.endsWith(".sql")).sort();
  assertEquals([...MIGRATION_FILES], folder);
});

Deno.test("migrations fetched over HTTP are the ones read from the folder", async () => {
  const requested: string[] = [];
  let missing = "";
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const name = new URL(request.url).pathname.replace("/pkg/migrations/", "");
    requested.push(name);
    if (name === missing || !MIGRATION_FILES.includes(name)) {
      return new Response("no such file", { status: 404 });
    }
    return new Response(await Deno.readTextFile(new URL(name, MIGRATIONS_DIR)));
  });
  try {
    const remote = new URL(`http://127.0.0.1:${server.addr.port}/pkg/migrations/`);
    const fetched = await readMigrations(remote);
    assertEquals(fetched, await readMigrations());
    assertEquals(requested.toSorted(), [...MIGRATION_FILES]);

    missing = MIGRATION_FILES[1];
    const error = await readMigrations(remote).then(() => null, (error: Error) => error);
    assert(error !== null && error.message.includes(`${missing}: HTTP 404`), String(error));
  } finally {
    await server.shutdown();
  }
});
