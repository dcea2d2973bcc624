import { assert, assertEquals } from "../../_helpers.ts";
import fc from "fast-check";
import { zoneRules } from "../../../src/domain/schedule/zone.ts";

const zones = Intl.supportedValuesOf("timeZone");
const instants = fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2200, 0, 1) });

Deno.test("zone offsets agree with Temporal at random instants in every IANA zone", () => {
  fc.assert(
    fc.property(fc.constantFrom(...zones), instants, (zone, instant) => {
      const expected = Temporal.Instant.fromEpochMilliseconds(instant).toZonedDateTimeISO(zone)
        .offsetNanoseconds / 1e6;
      assertEquals(zoneRules(zone)!.offsetAt(instant), expected);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("an instant on a transition takes the new offset", () => {
  const newYork = zoneRules("America/New_York")!;
  const springForward = Date.parse("2026-03-08T07:00:00Z");
  assertEquals(newYork.offsetAt(springForward - 1), -5 * 3_600_000);
  assertEquals(newYork.offsetAt(springForward), -4 * 3_600_000);
});

Deno.test("zone names are IANA names, matched without regard to case", () => {
  assertEquals(zoneRules("europe/berlin")?.id, "Europe/Berlin");
  assertEquals(zoneRules("UTC")?.id, "UTC");
  assertEquals(zoneRules("US/Eastern")?.id, "US/Eastern");
  for (const bad of ["+05:00", "-0300", "Mars/Olympus", "", "x".repeat(500), "America/New_York "]) {
    assertEquals(zoneRules(bad), null, bad);
  }
});

Deno.test("a zone without transitions has one endless segment", () => {
  const kolkata = zoneRules("Asia/Kolkata")!;
  const index = kolkata.segmentIndex(Date.parse("2026-06-01T00:00:00Z"));
  const segment = kolkata.segment(index);
  assertEquals(segment.offset, 5.5 * 3_600_000);
  assertEquals(segment.end, Infinity);
  assert(!kolkata.hasSegmentAfter(index));
});
