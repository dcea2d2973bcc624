/**
 * The calendar over the real service: `tasks.scheduled.export-ical` and the subscription feed
 * `GET /calendar.ics?token=…`. The export, parsed and expanded by ical.js, gives exactly what
 * `schedules.preview {task_id}` answers over 90 days; each user's feed holds their own tasks;
 * a rotated token replaces the old one; a task's UID survives its updates.
 */
import {
  assert,
  assertEquals,
  type JsonReply,
  readJson,
  rpc,
  signToken,
  startService,
} from "../_helpers.ts";
import { expand } from "../calendar/_expand.ts";

const SECRET = "a-jwt-secret-for-the-calendar-tests-0123456789";
const DAY = 86_400_000;

function resultOf<T>(reply: JsonReply): T {
  const body = reply.body as { result?: T };
  assert(body.result !== undefined, JSON.stringify(reply.body));
  return body.result;
}

Deno.test("the calendar export and feed over the real service", async (t) => {
  const service = await startService({ CHRONOLOG_JWT_SECRET: SECRET });
  const { url } = service;
  const alice = await signToken(SECRET, "alice");
  const bob = await signToken(SECRET, "bob");
  const call = async <T>(token: string, method: string, params: unknown) =>
    resultOf<T>(await rpc(url, { method, params, id: 1 }, token));
  try {
    // New York springs forward on 2027-03-14: the 02:30 run of that day is shifted to 03:30.
    await call(alice, "tasks.create", {
      id: "standup",
      name: "Stand-up",
      schedule_type: "weekly",
      schedule_expression: "1-5,7 02:30",
      schedule_timezone: "America/New_York",
      schedule_start_at: "2027-03-01T00:00:00Z",
    });
    await call(bob, "tasks.create", {
      id: "bobs-report",
      name: "Bob's report",
      schedule_type: "cron",
      schedule_expression: "0 9 * * 1",
      schedule_timezone: "Europe/Berlin",
    });

    await t.step("export-ical expands (ical.js) to exactly the preview over 90 days", async () => {
      const exported = await call<{ ical_content: string; task_count: number }>(
        alice,
        "tasks.scheduled.export-ical",
        { calendar_name: "Alice", base_url: "https://chronolog.example.com" },
      );
      assertEquals(exported.task_count, 1);
      const { runs } = await call<{ runs: string[] }>(alice, "schedules.preview", {
        task_id: "standup",
        count: 1000,
      });
      const first = Date.parse(runs[0]);
      const window: [number, number] = [first, first + 90 * DAY];
      const found = expand(exported.ical_content, new Map([["standup@chronolog", window]]));
      assertEquals(
        found.get("standup@chronolog")!.map((at) => new Date(at).toISOString()),
        runs.filter((run) => Date.parse(run) <= window[1]),
      );
      // The shifted run of 2027-03-14 is an override of its nominal 02:30.
      assert(
        exported.ical_content.includes("RECURRENCE-ID;TZID=America/New_York:20270314T023000"),
      );
      assert(exported.ical_content.includes("X-WR-CALNAME:Alice"));
      assert(
        exported.ical_content.includes("URL;VALUE=URI:https://chronolog.example.com/schedules/"),
      );
      assert(!exported.ical_content.includes("bobs-report"), "Bob's task in Alice's export");
      // Events last 30 minutes unless the export says otherwise.
      assert(exported.ical_content.includes("DTSTART;TZID=America/New_York:20270301T023000"));
      assert(exported.ical_content.includes("DTEND;TZID=America/New_York:20270301T030000"));
      const longer = await call<{ ical_content: string }>(
        alice,
        "tasks.scheduled.export-ical",
        { duration_minutes: 45 },
      );
      assert(longer.ical_content.includes("DTEND;TZID=America/New_York:20270301T031500"));
      const injected = await rpc(url, {
        method: "tasks.scheduled.export-ical",
        params: { calendar_name: "A\r\nX-EVIL:1" },
        id: 2,
      }, alice);
      assertEquals(
        (injected.body as { error: { data: { field: string } } }).error.data.field,
        "calendar_name",
      );
      const foreign = await call<{ task_count: number }>(alice, "tasks.scheduled.export-ical", {
        user_id: "bob",
      });
      assertEquals(foreign.task_count, 0);
    });

    await t.step(
      "a feed token opens that user's feed; rotating it closes the old one",
      async () => {
        const feed = async (token: string | null) => {
          const response = await fetch(
            `${url}/calendar.ics${token === null ? "" : `?token=${encodeURIComponent(token)}`}`,
          );
          return {
            status: response.status,
            type: response.headers.get("content-type"),
            text: await response.text(),
          };
        };
        const first = await call<{ token: string; path: string }>(
          alice,
          "tasks.scheduled.rotate-feed-token",
          {},
        );
        assertEquals(first.path, `/calendar.ics?token=${first.token}`);
        const opened = await feed(first.token);
        assertEquals([opened.status, opened.type], [200, "text/calendar; charset=utf-8"]);
        assert(opened.text.includes("UID:standup@chronolog"));
        assert(!opened.text.includes("bobs-report"));

        const second = await call<{ token: string }>(
          alice,
          "tasks.scheduled.rotate-feed-token",
          {},
        );
        assertEquals((await feed(first.token)).status, 401);
        assertEquals((await feed(second.token)).status, 200);
        assertEquals((await feed(null)).status, 401);
        assertEquals((await feed("x".repeat(43))).status, 401);

        const bobs = await call<{ token: string }>(bob, "tasks.scheduled.rotate-feed-token", {});
        const bobFeed = await feed(bobs.token);
        assert(bobFeed.text.includes("UID:bobs-report@chronolog"));
        assert(!bobFeed.text.includes("standup"));
        // The token never needs a JWT, and a JWT alone does not open a feed.
        const withJwt = await fetch(`${url}/calendar.ics`, {
          headers: { authorization: `Bearer ${alice}` },
        });
        assertEquals(withJwt.status, 401);
        await withJwt.body?.cancel();
      },
    );

    await t.step("a task's UID stays the same across its updates", async () => {
      const uid = (text: string) => text.match(/^UID:(.*)\r$/m)?.[1];
      const before = await call<{ ical_content: string }>(alice, "tasks.scheduled.export-ical", {});
      await call(alice, "tasks.update", { task_id: "standup", name: "Daily stand-up" });
      const after = await call<{ ical_content: string }>(alice, "tasks.scheduled.export-ical", {});
      assertEquals(uid(after.ical_content), uid(before.ical_content));
      assert(after.ical_content.includes("SUMMARY:Daily stand-up"));
    });

    await t.step("the feed is read-only: a bad schedule_type is refused", async () => {
      const { token } = await call<{ token: string }>(
        alice,
        "tasks.scheduled.rotate-feed-token",
        {},
      );
      const reply = await fetch(`${url}/calendar.ics?token=${token}&schedule_type=hourly`).then(
        readJson,
      );
      assertEquals(reply.status, 400);
    });
  } finally {
    await service.stop();
  }
});
