// Reads iCalendar feeds with Mozilla's ical.js (the parser in Thunderbird), for the Python tests.
//
// stdin:  a JSON array of ICS texts, one VCALENDAR each.
// stdout: a JSON array with, for each text, an array of {uid, summary, start, end}, where start
//         and end are UTC instants in epoch seconds.
// Any problem (a TZID without a VTIMEZONE, a floating or all-day time, a recurring event, a
// parse error) exits 1 with the calendar's index on stderr: never a silent guess.
//
// Several calendars go through one process because node's start-up dominates the cost.
import ICAL from "ical.js";

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

// Epoch seconds of a DTSTART/DTEND, refusing anything that is not a definite instant.
function instant(time, prop, definedZones, what) {
  if (time.isDate) {
    throw new Error(`${what} is a DATE (all-day): no instant to compare`);
  }
  const tzid = prop.getParameter("tzid");
  if (tzid) {
    // Without its VTIMEZONE ical.js quietly reads the time as floating (local) time.
    if (!definedZones.has(tzid)) {
      throw new Error(`${what} has TZID=${tzid} but the calendar has no VTIMEZONE for it`);
    }
    if (!time.zone || time.zone.tzid !== tzid) {
      throw new Error(`${what}: ical.js did not resolve TZID=${tzid}`);
    }
  } else if (time.zone !== ICAL.Timezone.utcTimezone) {
    throw new Error(`${what} is a floating time (neither UTC nor TZID)`);
  }
  return time.toUnixTime();
}

function readCalendar(text) {
  // The registry is process-wide: forget the previous calendar's zones so that a calendar
  // missing a VTIMEZONE cannot borrow one from an earlier calendar.
  ICAL.TimezoneService.reset();
  const root = new ICAL.Component(ICAL.parse(text));
  if (root.name !== "vcalendar") {
    throw new Error(`expected one VCALENDAR, got ${root.name}`);
  }
  const definedZones = new Set();
  for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
    const zone = new ICAL.Timezone(vtimezone);
    ICAL.TimezoneService.register(zone);
    definedZones.add(zone.tzid);
  }
  return root.getAllSubcomponents("vevent").map((component) => {
    const event = new ICAL.Event(component);
    const what = `VEVENT ${event.uid}`;
    for (const name of ["rrule", "rdate", "exdate", "recurrence-id"]) {
      if (component.hasProperty(name)) {
        throw new Error(`${what} is recurring (${name.toUpperCase()}): not expanded here`);
      }
    }
    const dtstart = component.getFirstProperty("dtstart");
    if (!dtstart) {
      throw new Error(`${what} has no DTSTART`);
    }
    if (!component.hasProperty("dtend") && !component.hasProperty("duration")) {
      throw new Error(`${what} has neither DTEND nor DURATION`);
    }
    // With DURATION, ical.js adds it to DTSTART in DTSTART's zone.
    const endProp = component.getFirstProperty("dtend") ?? dtstart;
    return {
      uid: event.uid ?? "",
      summary: event.summary ?? "",
      start: instant(event.startDate, dtstart, definedZones, `${what} DTSTART`),
      end: instant(event.endDate, endProp, definedZones, `${what} DTEND`),
    };
  });
}

try {
  const texts = JSON.parse(await readStdin());
  if (!Array.isArray(texts) || !texts.every((text) => typeof text === "string")) {
    throw new Error("stdin must be a JSON array of strings");
  }
  const results = texts.map((text, index) => {
    try {
      return readCalendar(text);
    } catch (error) {
      throw new Error(`calendar ${index}: ${error.message}`);
    }
  });
  process.stdout.write(JSON.stringify(results));
} catch (error) {
  process.stderr.write(`read_feeds.mjs: ${error.message}\n`);
  process.exitCode = 1;
}
