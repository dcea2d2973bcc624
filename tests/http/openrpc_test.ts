/**
 * The OpenRPC document `rpc.discover` returns, on the real service: valid against the official
 * OpenRPC meta-schema, each embedded schema a JSON Schema draft 7 in its own right, and listing
 * exactly the methods the service answers, which are those of SPEC §3.
 */
import { Ajv, type ErrorObject, type SchemaObject } from "ajv";
import ajvFormats from "ajv-formats";
import jsonSchema from "@json-schema-tools/meta-schema/schema.json" with { type: "json" };
import * as openRpcMetaSchema from "@open-rpc/meta-schema";
import type { OpenRpcDocument } from "../../src/http/jsonrpc.ts";
import { assert, assertEquals, rpc, startService } from "../_helpers.ts";

/** The "Methods:" list of SPEC §3, in its order. */
const SPEC_METHODS = [
  "tasks.create",
  "tasks.get",
  "tasks.update",
  "tasks.delete",
  "tasks.list",
  "tasks.trigger",
  "tasks.runs",
  "tasks.events",
  "tasks.replay",
  "tasks.scheduled.list",
  "tasks.scheduled.due",
  "tasks.scheduled.init",
  "tasks.scheduled.complete",
  "tasks.scheduled.export-ical",
  "tasks.webhook.trigger",
  "schedules.preview",
  "tasks.occurrences.skip",
  "tasks.occurrences.move",
  "tasks.backfill",
  "schedules.validate",
  "runs.claim",
  "runs.heartbeat",
  "runs.complete",
  "scheduler.status",
  "scheduler.pause",
  "scheduler.resume",
  "rpc.discover",
];

/**
 * Methods of SPEC §3 that are not implemented yet. The service must answer -32601 for each, so a
 * name left here after its method lands fails the test instead of going stale.
 */
const NOT_YET_IMPLEMENTED: string[] = [];

/** Methods served beyond SPEC §3's list. */
const BEYOND_SPEC = [
  // SPEC §1: the decision on every occurrence is "queryable per task".
  "tasks.occurrences",
  // The subscription feed's token (GET /calendar.ics cannot take a JWT).
  "tasks.scheduled.rotate-feed-token",
  "tasks.scheduled.revoke-feed-token",
];

// The package's typings declare the types of an OpenRPC document, not the schema it exports.
const { openrpcDocument } = openRpcMetaSchema as unknown as { openrpcDocument: SchemaObject };

const IMPLEMENTED = [
  ...SPEC_METHODS.filter((name) => !NOT_YET_IMPLEMENTED.includes(name)),
  ...BEYOND_SPEC,
];

// The OpenRPC meta-schema describes each embedded schema by the JSON Schema meta-schema of
// json-schema.tools, which it references without the trailing slash of that schema's own $id.
const JSON_SCHEMA_TOOLS_REF = "https://meta.json-schema.tools";

/** An Ajv for JSON Schema draft 7 that checks formats too (uri, regex, date-time, …). */
function draft7(options: { strict: boolean }): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: options.strict });
  // ajv-formats is CommonJS: its default import is the module, whose `default` is the plugin.
  ajvFormats.default(ajv);
  return ajv;
}

/** A validator of OpenRPC documents by the official meta-schema. */
function openRpcValidator(): (document: unknown) => ErrorObject[] {
  // Not strict: the meta-schema has keywords strict mode rejects (additionalItems beside a
  // single items schema), which are valid draft 7 all the same.
  const ajv = draft7({ strict: false });
  ajv.addSchema(jsonSchema, JSON_SCHEMA_TOOLS_REF);
  const validate = ajv.compile(openrpcDocument);
  return (document) => validate(document) ? [] : validate.errors ?? [];
}

function describeErrors(errors: ErrorObject[]): string {
  return errors
    .map((error) => `${error.instancePath || "/"} ${error.message} ${JSON.stringify(error.params)}`)
    .join("\n");
}

Deno.test("rpc.discover on the real service", async (t) => {
  const service = await startService();
  const { url } = service;
  try {
    const reply = await rpc(url, { method: "rpc.discover", id: 1 });
    const document = (reply.body as { result?: OpenRpcDocument }).result;
    assert(document !== undefined, `rpc.discover failed: ${JSON.stringify(reply.body)}`);
    const names = document.methods.map((method) => method.name);

    await t.step("the document is valid by the official OpenRPC meta-schema", () => {
      const errors = openRpcValidator()(document);
      assert(errors.length === 0, `the document is not valid OpenRPC:\n${describeErrors(errors)}`);
    });

    await t.step("every param and result schema compiles as JSON Schema draft 7", () => {
      // Strict: zod writes every keyword, so one Ajv would ignore or not know is a mistake.
      const ajv = draft7({ strict: true });
      for (const method of document.methods) {
        const schemas = [
          ...method.params.map((param) => [`param ${param.name}`, param.schema] as const),
          ["result", method.result.schema] as const,
        ];
        for (const [what, schema] of schemas) {
          try {
            ajv.compile(schema);
          } catch (error) {
            throw new Error(`${method.name} ${what}: ${(error as Error).message}`);
          }
        }
      }
    });

    await t.step("the document lists exactly the methods implemented, each once", () => {
      assertEquals([...names].sort(), [...IMPLEMENTED].sort());
    });

    await t.step("every method the document lists is served", async () => {
      for (const name of names) {
        const { body } = await rpc(url, { method: name, params: {}, id: name });
        const error = (body as { error?: { code: number } }).error;
        assert(error?.code !== -32601, `${name} is described but answers -32601`);
      }
    });

    await t.step("the SPEC §3 methods still to come are not served yet", async () => {
      for (const name of NOT_YET_IMPLEMENTED) {
        const { body } = await rpc(url, { method: name, params: {}, id: name });
        const error = (body as { error?: { code: number } }).error;
        assertEquals(
          error?.code,
          -32601,
          `${name} is served now: take it off NOT_YET_IMPLEMENTED in this test`,
        );
      }
    });
  } finally {
    await service.stop();
  }
});
