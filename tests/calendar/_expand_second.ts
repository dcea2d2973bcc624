/**
 * Expands an iCalendar feed with a second parser, independent of ical.js: node-ical 0.27.2
 * (npm `node-ical`, pinned in deno.json). Same contract as `expand` in ./_expand.ts.
 *
 * What node-ical does here: it parses the text (folding, parameters, TZID, EXDATE, UNTIL),
 * files each `RECURRENCE-ID` VEVENT under its master's `recurrences`, and `expandRecurringEvent`
 * expands the RRULE with rrule-temporal, drops EXDATEs and applies the overrides. What it does not
 * do is RDATE: it keeps RDATE lines as raw text. This helper completes that part, and only that:
 * each RDATE value is read by node-ical itself (as the DTSTART of a throwaway VEVENT, so with
 * node-ical's own TZID reading); an RDATE at DTSTART or at an RRULE instance is that instance
 * (RFC 5545 counts it once); EXDATE and RECURRENCE-ID apply to the others as RFC 5545 applies them
 * to every instance of the set, matched by node-ical's own keys (the instant's ISO string, or
 * its date for a DATE value). node-ical's instances are kept as it gives them, duplicates
 * included: a calendar built on it would show them twice.
 *
 * Its readings, measured under Deno 2.9.6 (native Temporal; node-ical's polyfill is not used):
 * - TZID: an IANA name is resolved with Temporal/Intl, i.e. the runtime's own zone data. The
 *   feed's VTIMEZONE blocks are NOT read for IANA names (only for Outlook-style custom TZIDs and
 *   floating times), so this parser checks the feed against the IANA rules, while ical.js
 *   checks it against the VTIMEZONE blocks it carries. A TZID the runtime does not know would
 *   silently fall back to UTC in node-ical: expandSecond fails instead.
 * - A local time in a DST gap, as a property value (DTSTART, RECURRENCE-ID, EXDATE, RDATE with
 *   TZID): read forward by the gap (New York 2027-03-14 02:30 → 07:30Z, i.e. 03:30 EDT).
 * - A local time in a DST fold, as a property value: the SECOND occurrence (Temporal
 *   `disambiguation: "later"`; New York 2027-11-07 01:30 → 06:30Z), where RFC 5545 §3.3.5 says
 *   the first.
 * - An RRULE instance whose local time falls in a gap: dropped (rrule-temporal follows RFC 5545
 *   §3.3.10), so a RECURRENCE-ID there matches nothing; node-ical still adds that override's
 *   DTSTART when it lies in the window.
 * - An RRULE instance whose local time is repeated (fold): the FIRST occurrence (05:30Z above).
 *   With the property-value reading above, a `RECURRENCE-ID;TZID=…` at a fold time never matches
 *   its RRULE instance: node-ical keeps the instance (at the first reading) and adds the
 *   override besides it — the run twice when the override's DTSTART is the first reading, an
 *   extra run when it is the second — and the RECURRENCE-ID names an RDATE at the second reading.
 * Not independent of our code: rrule-temporal is also the library src/calendar/ical.ts
 * reconciles its RRULEs against (and the engine's `rrule` schedules use), so an RRULE part that
 * rrule-temporal expands wrongly is caught by ical.js only.
 */
import ical, { type VEvent } from "node-ical";
import { assert } from "../_helpers.ts";

/** Every VEVENT of the feed expanded by node-ical over [from, to], by UID. */
export function expandSecond(
  content: string,
  windows: Map<string, [number, number]>,
): Map<string, number[]> {
  const parsed = ical.sync.parseICS(content);
  const found = new Map<string, number[]>();
  for (const component of Object.values(parsed)) {
    if (component?.type !== "VEVENT") continue;
    const event = component as VEvent;
    const uid = String(event.uid);
    const window = windows.get(uid);
    assert(window !== undefined, `${uid}: no window`);
    const [from, to] = window;
    // node-ical types an override as Omit<VEvent, …>, which loses its fields; it is a VEvent.
    const overrides = (event.recurrences ?? {}) as Record<string, VEvent>;
    const dates = [
      event.start,
      ...Object.values(overrides).map((override) => override.start),
      ...Object.values(event.exdate ?? {}),
    ];
    for (const date of dates) {
      const zone = date?.tz;
      assert(zone === undefined || knownZone(zone), `${uid}: TZID ${zone} unknown to node-ical`);
    }
    const instances = ical.expandRecurringEvent(event, {
      from: new Date(from),
      to: new Date(to),
    });
    // node-ical's instances as it gives them, duplicates included.
    const instants = instances.map((instance) => instance.start.getTime());
    // DTSTART and the RRULE's instances not replaced by an override: an RDATE at one of them is
    // the same instance (RFC 5545 counts it once).
    const plain = new Set(
      instances.filter((instance) => !instance.isOverride).map((instance) =>
        instance.start.getTime()
      ),
    );
    plain.add(event.start.getTime());
    for (const date of rdates(event)) {
      const key = date.toISOString();
      if (plain.has(date.getTime())) continue;
      if (event.exdate !== undefined) {
        if (Object.hasOwn(event.exdate, key) || event.exdate[key.slice(0, 10)]?.dateOnly) continue;
      }
      const override = overrides[key];
      // An override whose RECURRENCE-ID no RRULE instance matches is already among node-ical's
      // instances (it adds each in the window); without an RRULE, node-ical adds none.
      const start = override === undefined
        ? date.getTime()
        : event.rrule === undefined
        ? new Date(override.start).getTime()
        : null;
      if (start !== null && start >= from && start <= to) instants.push(start);
    }
    found.set(uid, instants.sort((a, b) => a - b));
  }
  return found;
}

/** The event's RDATE values, each read by node-ical as the DTSTART of a VEVENT of its own. */
function rdates(event: VEvent): Date[] {
  const raw = (event as Record<string, unknown>).rdate;
  if (raw === undefined) return [];
  const lines: string[] = [];
  for (const entry of Array.isArray(raw) ? raw : [raw]) {
    const { params, val } = typeof entry === "string"
      ? { params: {} as Record<string, unknown>, val: entry }
      : entry as { params: Record<string, unknown>; val: string };
    assert(
      params.VALUE === undefined || /^DATE(-TIME)?$/i.test(String(params.VALUE)),
      `RDATE;VALUE=${params.VALUE} is not read by this helper`,
    );
    const parameters = Object.entries(params).map(([name, value]) => `;${name}=${value}`).join("");
    for (const value of val.split(",")) lines.push(`DTSTART${parameters}:${value.trim()}`);
  }
  const text = [
    "BEGIN:VCALENDAR",
    ...lines.flatMap((line, index) => ["BEGIN:VEVENT", `UID:rdate-${index}`, line, "END:VEVENT"]),
    "END:VCALENDAR",
  ].join("\r\n");
  const read = ical.sync.parseICS(text);
  return lines.map((line, index) => {
    const start = (read[`rdate-${index}`] as VEvent | undefined)?.start;
    assert(start instanceof Date && !Number.isNaN(start.getTime()), `unreadable ${line}`);
    return start;
  });
}

function knownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
