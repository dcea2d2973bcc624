/**
 * The calendar over the real service: `tasks.scheduled.export-ical` and the subscription feed
 * `GET /calendar.ics?token=…`. The export, parsed and expanded by ical.js and node-ical, gives exactly what
 * `schedules.preview {task_id}` answers over 90 days; each user's feed holds their own tasks;
 * a rotated token replaces the old one, a revoked or expired one opens nothing, an operator's
 * token stops working once JWT auth is on; a task's UID survives its updates.
 */
import {
  assert,
  assertEquals,
  readJson,
  resultOf,
  rpc,
  signToken,
  startService,
} from "../_helpers.ts";
import { expand } from "../calendar/_expand.ts";
import { expandSecond } from "../calendar/_expand_second.ts";
import { CalendarFeeds } from "../../src/calendar/feeds.ts";
import { TaskActors } from "../../src/runtime/actors.ts";
import { TaskService } from "../../src/runtime/tasks.ts";
import { openStore } from "../../src/store/mod.ts";
import { pgliteDir } from "../_helpers.ts";

const SECRET = "a-jwt-secret-for-the-calendar-tests-0123456789";
const DAY = 86_400_000;

Deno.test("the calendar export and feed over the real service", async (t) => {
  const service = await startService({
    CHRONOLOG_JWT_SECRET: SECRET,
    CHRONOLOG_PUBLIC_URL: "https://chronolog.example.com/",
  });
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
      const windows = new Map([["standup@chronolog", window]]);
      for (
        const found of [
          expand(exported.ical_content, windows),
          expandSecond(exported.ical_content, windows),
        ]
      ) {
        assertEquals(
          found.get("standup@chronolog")!.map((at) => new Date(at).toISOString()),
          runs.filter((run) => Date.parse(run) <= window[1]),
        );
      }
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

    await t.step(
      "feed links use CHRONOLOG_PUBLIC_URL; tokens expire, and can be revoked",
      async () => {
        const before = Date.now();
        const rotated = await call<{ token: string; url: string; expires_at: string }>(
          alice,
          "tasks.scheduled.rotate-feed-token",
          { expires_in_days: 30 },
        );
        assertEquals(
          rotated.url,
          `https://chronolog.example.com/calendar.ics?token=${rotated.token}`,
        );
        const expires = Date.parse(rotated.expires_at) - before;
        assert(expires >= 30 * DAY - 60_000 && expires <= 30 * DAY + 60_000, rotated.expires_at);
        const opened = await fetch(`${url}/calendar.ics?token=${rotated.token}`);
        const text = await opened.text();
        assert(
          text.includes("URL;VALUE=URI:https://chronolog.example.com/schedules/standup"),
          text,
        );

        const refused = await rpc(url, {
          method: "tasks.scheduled.rotate-feed-token",
          params: { expires_in_days: 0 },
          id: 1,
        }, alice);
        assertEquals(
          (refused.body as { error: { data?: { field?: string } } }).error.data?.field,
          "expires_in_days",
        );

        // Bob may not end Alice's token; she may, and then it opens nothing.
        const foreign = await rpc(url, {
          method: "tasks.scheduled.revoke-feed-token",
          params: { user_id: "alice" },
          id: 1,
        }, bob);
        assertEquals((foreign.body as { error: { code: number } }).error.code, -32003);
        assertEquals(
          (await fetch(`${url}/calendar.ics?token=${rotated.token}`)).status === 200,
          true,
        );
        assertEquals(
          await call(alice, "tasks.scheduled.revoke-feed-token", {}),
          { revoked: true },
        );
        const gone = await fetch(`${url}/calendar.ics?token=${rotated.token}`);
        assertEquals(gone.status, 401);
        await gone.body?.cancel();
        assertEquals(await call(alice, "tasks.scheduled.revoke-feed-token", {}), {
          revoked: false,
        });
        // An admin ends anyone's.
        const admin = await signToken(SECRET, "root", { roles: ["admin"] });
        const bobs = await call<{ token: string }>(bob, "tasks.scheduled.rotate-feed-token", {});
        assertEquals(
          await call(admin, "tasks.scheduled.revoke-feed-token", { user_id: "bob" }),
          { revoked: true },
        );
        const bobGone = await fetch(`${url}/calendar.ics?token=${bobs.token}`);
        assertEquals(bobGone.status, 401);
        await bobGone.body?.cancel();
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

Deno.test("an expired feed token opens nothing", async () => {
  const store = await openStore({ databaseUrl: null, dataDir: null });
  try {
    const actors = new TaskActors(store);
    await actors.load();
    const feeds = new CalendarFeeds(store, new TaskService(store, actors));
    const owner = { userId: "alice", admin: false };
    const current = await feeds.rotate(owner, Date.now() + 60_000);
    assertEquals(await feeds.owner(current), owner);
    const expired = await feeds.rotate(owner, Date.now() - 1);
    assertEquals(await feeds.owner(expired), null);
  } finally {
    await store.close();
  }
});

Deno.test("an operator's feed token stops working once JWT auth is on", async () => {
  const dataDir = await pgliteDir();
  try {
    const open = await startService({}, { dataDir });
    let token: string;
    try {
      const rotated = resultOf<{ token: string; url: string }>(
        await rpc(open.url, { method: "tasks.scheduled.rotate-feed-token", params: {}, id: 1 }),
      );
      token = rotated.token;
      // Without CHRONOLOG_PUBLIC_URL the feed's address is the origin the call was sent to.
      assertEquals(rotated.url, `${open.url}/calendar.ics?token=${token}`);
      const served = await fetch(`${open.url}/calendar.ics?token=${token}`);
      assertEquals(served.status, 200);
      await served.body?.cancel();
    } finally {
      await open.stop();
    }
    const secured = await startService({ CHRONOLOG_JWT_SECRET: SECRET }, { dataDir });
    try {
      const refused = await fetch(`${secured.url}/calendar.ics?token=${token}`);
      assertEquals(refused.status, 401);
      await refused.body?.cancel();
    } finally {
      await secured.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
