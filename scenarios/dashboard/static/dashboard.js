// careflow sandbox dashboard: small progressive enhancement over server-rendered pages.
// - Regions marked data-live (runs in progress, Recent Events, the clock...) refresh every few
//   seconds by fetching the same URL and swapping those regions: deep links stay plain URLs.
// - Forms marked data-confirm ask first.
// Everything works without this script; it only saves reloads.
(() => {
  "use strict";
  const POLL_MS = 2000;
  const regions = () => Array.from(document.querySelectorAll("[data-live][id]"));
  let busy = false;

  async function refresh() {
    if (busy || document.hidden || regions().length === 0) return;
    busy = true;
    try {
      const response = await fetch(location.href, { headers: { "X-Live": "1" }, cache: "no-store" });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const focused = document.activeElement;
      for (const region of regions()) {
        // never pull the page from under a person: skip a region they are working in
        if (focused && focused !== document.body && region.contains(focused)) continue;
        const next = fresh.getElementById(region.id);
        if (!next || next.innerHTML === region.innerHTML) continue;
        // keep what the person opened or closed
        const toggled = new Map(
          Array.from(region.querySelectorAll("details[id]")).map((d) => [d.id, d.open]),
        );
        region.innerHTML = next.innerHTML;
        for (const details of region.querySelectorAll("details[id]")) {
          if (toggled.has(details.id)) details.open = toggled.get(details.id);
        }
      }
      document.documentElement.dataset.refreshed = String(Date.now());
    } catch (error) {
      // the stack may be restarting: try again on the next tick
    } finally {
      busy = false;
    }
  }

  setInterval(refresh, POLL_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  document.addEventListener("submit", (event) => {
    const question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
