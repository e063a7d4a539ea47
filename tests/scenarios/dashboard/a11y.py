"""An accessibility smoke check run in the page: axe-core (shipped by the axe-playwright-python
package: its WCAG 2.1 A/AA and best-practice rules) plus three small in-page scripts — the
structure a person with a screen reader relies on (one h1, a main landmark, no skipped heading
level, a label for every field) and text contrast of at least 4.5:1 (3:1 for large text).

axe's own colour-contrast rule is exact but costs about a second a page on a shared CI machine;
the script below computes the same WCAG ratio from computed styles (text colour over the
blended backgrounds behind it) in a few milliseconds, so every page is checked and the suite
stays fast."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

STRUCTURE = """() => {
  const problems = [];
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements (want one)`);
  if (!document.querySelector("main")) problems.push("no main landmark");
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  let last = 0;
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const level = Number(h.tagName[1]);
    if (last && level > last + 1) {
      problems.push(`${h.tagName} "${h.textContent.trim()}" skips a level after h${last}`);
    }
    last = level;
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    if (!byFor && !el.closest("label") && !el.getAttribute("aria-label")
        && !el.getAttribute("aria-labelledby")) {
      problems.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
    }
  }
  return problems;
}"""


CONTRAST = """() => {
  const parse = (text) => {
    const m = text && text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1,
  });
  const channel = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const backdrop = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    const white = {r: 255, g: 255, b: 255, a: 1};
    return layers.reverse().reduce((under, top) => over(top, under), white);
  };
  const problems = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const unseen = style.visibility === "hidden" || !box.width || !box.height;
    if (unseen || el.closest(".sr-only")) continue;
    const bg = backdrop(el);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) {
      problems.push(`contrast ${ratio.toFixed(2)}:1 of "${el.textContent.trim().slice(0, 40)}"`);
    }
  }
  return problems;
}"""


def axe_source() -> str:
    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def check(page: Any) -> list[str]:
    """Problems on the page as shown (empty when it passes)."""
    problems = list(page.evaluate(STRUCTURE)) + list(page.evaluate(CONTRAST))
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: tags},
                rules: {"color-contrast": {enabled: false}}, resultTypes: ["violations"]});
            return r.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
        }""",
        AXE_TAGS,
    )
    return problems + list(result)
