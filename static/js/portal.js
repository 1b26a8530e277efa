// Keeps "Handoff in ..." countdowns current without reloading the page.
(function () {
  function until(iso) {
    let seconds = Math.floor((Date.parse(iso) - Date.now()) / 1000);
    if (seconds <= 0) return "now";
    const parts = [[Math.floor(seconds / 86400), "day"], [Math.floor(seconds % 86400 / 3600), "hour"], [Math.floor(seconds % 3600 / 60), "minute"]];
    const shown = parts.filter(([n]) => n > 0).slice(0, 2).map(([n, unit]) => n + " " + unit + (n === 1 ? "" : "s"));
    return shown.join(" ") || "less than a minute";
  }
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach((el) => { el.textContent = until(el.dataset.countdown); });
  }
  // Handoff times in the browser's zone, for viewers who set none on their profile.
  function localTimes() {
    const format = new Intl.DateTimeFormat(undefined, {weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false, timeZoneName: "short"});
    document.querySelectorAll("[data-local-time]").forEach((el) => {
      el.textContent = "(your time " + format.format(new Date(el.dataset.localTime)) + ")";
    });
  }
  // Each on-call person's own time now: the server writes it when the card is rendered; the
  // card may be kept for a minute, so the browser keeps it current.
  function theirTimes() {
    document.querySelectorAll("time[data-zone]").forEach((el) => {
      try {
        const parts = new Intl.DateTimeFormat("en-GB", {weekday: "short", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: el.dataset.zone}).formatToParts(new Date());
        const part = (type) => (parts.find((p) => p.type === type) || {}).value || "";
        el.textContent = part("weekday") + " " + part("hour") + ":" + part("minute");
      } catch (error) { /* an unknown zone keeps the server's text */ }
    });
  }
  document.addEventListener("DOMContentLoaded", () => { tick(); localTimes(); theirTimes(); setInterval(() => { tick(); theirTimes(); }, 30000); });
})();

// "Copy link" buttons on the calendar pages: copy the feed address, and say so.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const done = () => { const label = button.textContent; button.textContent = "Copied"; setTimeout(() => { button.textContent = label; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(button.dataset.copy).then(done, () => { button.textContent = "Select and copy the address"; });
  } else {
    // Plain-http deployments have no clipboard API: select the address for Ctrl-C instead.
    const input = button.closest("tr, section").querySelector("input.feed-url");
    if (input) { input.select(); button.textContent = "Press Ctrl-C"; } else { window.prompt("Copy the feed address:", button.dataset.copy); }
  }
});

// "Copy Markdown" on the weekly summary: copies the text of the box it names. Without this
// script the button stays hidden and the box itself is there to select and copy.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-copy-from]").forEach((button) => { button.hidden = false; });
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-from]");
  if (!button) return;
  const box = document.getElementById(button.dataset.copyFrom);
  const label = button.textContent;
  const say = (text) => { button.textContent = text; setTimeout(() => { button.textContent = label; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(box.value).then(() => say("Copied"), () => { box.select(); say("Press Ctrl-C"); });
  } else {
    box.select();
    say("Press Ctrl-C");
  }
});

// The runbook editor's preview answers a text too long to render with 413 and a message: show
// the message in the preview, where htmx would otherwise swap nothing for an error status.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 413) { event.detail.shouldSwap = true; event.detail.isError = false; }
});

// The top bar's menu button (shown on narrow screens by the CSS): without this script the
// links simply wrap, so the button stays hidden until the script can work it.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".menu-toggle");
  if (!toggle) return;
  toggle.hidden = false;
  const open = (isOpen) => toggle.setAttribute("aria-expanded", String(isOpen));
  toggle.addEventListener("click", () => open(toggle.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") { open(false); toggle.focus(); }
  });
});

// Task-list checkboxes in rendered Markdown (runbooks, post-mortems, the editor's preview) are
// read-only ticks; a screen reader names each by its task. The renderer labels them
// (runbooks/markdown.py); pages stored before it did get the list item's own text here.
function labelTaskLists(root) {
  root.querySelectorAll(".markdown li > input[type=checkbox]:not([aria-label])").forEach((box) => {
    const task = box.parentElement.textContent.trim().replace(/\s+/g, " ");
    box.setAttribute("aria-label", (box.checked ? "Done: " : "To do: ") + task);
  });
}
document.addEventListener("DOMContentLoaded", () => labelTaskLists(document));
document.addEventListener("htmx:afterSwap", (event) => labelTaskLists(event.target));

// The browser's zone, for pages to show times in when the profile names none
// (portal/viewer.py reads this cookie). Kept a year; set again when it changes.
(function () {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.split("; ").includes("tz=" + encodeURIComponent(zone))) {
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
  }
})();

// The cover form: a time typed in the rotation's zone, shown beside in the reader's own
// ("= Thu 3 Dec 19:00 in Europe/Berlin"), as it is typed.
(function () {
  function wallClock(zone, ms) {
    const parts = new Intl.DateTimeFormat("en-US", {timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"}).formatToParts(new Date(ms));
    const get = (type) => Number((parts.find((p) => p.type === type) || {}).value);
    return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"));
  }
  function instantOf(text, zone) {
    const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text);
    if (!match) return null;
    const guess = Date.UTC(+match[1], +match[2] - 1, +match[3], +match[4], +match[5]);
    // The zone's offset at the guess, then again at the answer (a clock change between them).
    let instant = guess - (wallClock(zone, guess) - guess);
    instant = guess - (wallClock(zone, instant) - instant);
    return instant;
  }
  function show(hint) {
    const input = hint.parentElement.querySelector("input[type=datetime-local]");
    const to = hint.dataset.zoneTo || Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!input || !to || to === hint.dataset.zoneFrom) { hint.textContent = ""; return; }
    const instant = input.value ? instantOf(input.value, hint.dataset.zoneFrom) : null;
    if (instant === null) { hint.textContent = ""; return; }
    const format = new Intl.DateTimeFormat("en-GB", {timeZone: to, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false});
    hint.textContent = "= " + format.format(new Date(instant)) + " in " + to.replace(/_/g, " ");
  }
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".zone-hint[data-zone-from]").forEach((hint) => {
      show(hint);
      const input = hint.parentElement.querySelector("input");
      if (input) input.addEventListener("input", () => show(hint));
    });
  });
})();
