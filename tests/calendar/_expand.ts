/** Expands an iCalendar feed with ical.js, an iCalendar library independent of ours. */
import ICAL from "ical.js";
import { assert } from "../_helpers.ts";

const DAY = 86_400_000;

/** Every VEVENT of the feed expanded by ical.js over [from, to], by UID. */
export function expand(
  content: string,
  windows: Map<string, [number, number]>,
): Map<string, number[]> {
  const calendar = new ICAL.Component(ICAL.parse(content));
  for (const zone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(zone);
  }
  const byUid = new Map<string, ICAL.Component[]>();
  for (const event of calendar.getAllSubcomponents("vevent")) {
    const uid = String(event.getFirstPropertyValue("uid"));
    byUid.set(uid, [...byUid.get(uid) ?? [], event]);
  }
  const found = new Map<string, number[]>();
  for (const [uid, components] of byUid) {
    const master = components.find((c) => !c.hasProperty("recurrence-id"));
    assert(master !== undefined, `${uid}: no master event`);
    // Detached from the calendar: ical.js relates every override of the calendar to an event
    // made from an attached component, whatever its UID, matching them by local time alone.
    const event = new ICAL.Event(new ICAL.Component(master.toJSON()));
    for (const exception of components.filter((c) => c.hasProperty("recurrence-id"))) {
      event.relateException(exception);
    }
    const [from, to] = windows.get(uid)!;
    const instants: number[] = [];
    const iterator = event.iterator();
    let steps = 0;
    for (let next = iterator.next(); next != null; next = iterator.next()) {
      // A rule ical.js cannot expand would loop forever: fail instead.
      assert(++steps < 200_000, `${uid}: ical.js did not get through the window`);
      // Overrides move an instance by at most a DST offset: read a day past the window.
      if (next.toJSDate().getTime() > to + DAY) break;
      const start = event.getOccurrenceDetails(next).startDate.toJSDate().getTime();
      if (start >= from && start <= to) instants.push(start);
    }
    found.set(uid, instants.sort((a, b) => a - b));
  }
  return found;
}
