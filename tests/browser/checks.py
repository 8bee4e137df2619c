"""What every page must pass in the browser (DESIGN.md §9, WCAG 2.2 AA).

- axe-core with the WCAG 2.0/2.1/2.2 A and AA rules reports no violation;
- at 320 CSS px wide nothing scrolls sideways (WCAG 1.4.10 reflow);
- every target is at least 24 × 24 CSS px, or has room around it (WCAG 2.5.8, with its
  spacing exception; a link inside a sentence is exempt, as WCAG says);
- every element that Tab reaches shows a focus indicator (an outline or a box shadow that it
  does not have without focus), and Tab reaches every link, button and field (WCAG 2.1.1,
  2.4.7).

Each check returns a list of problems in words; an empty list is a pass.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
NARROWEST = 320
MINIMUM_TARGET = 24

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""

# The label of a target, for a report a person can act on.
DESCRIBE = """(el) => {
  const text = (el.innerText || el.value || el.getAttribute("aria-label") || "")
    .replace(/\\s+/g, " ").trim().slice(0, 40);
  const id = el.id ? "#" + el.id : "";
  const name = el.getAttribute("name") ? `[name=${el.getAttribute("name")}]` : "";
  return `<${el.tagName.toLowerCase()}${id}${name}> "${text}"`;
}"""

MEASURE_TARGETS = (
    """(minimum) => {
  const describe = """
    + DESCRIBE
    + """;
  const inSentence = (el) => {
    // WCAG 2.5.8's inline exception: a link in a sentence, among other words.
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") return false;
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith("inline")) {
      block = block.parentElement;
    }
    const words = (node) => (node.textContent || "").replace(/\\s+/g, " ").trim();
    return block !== null && words(block).length > words(el).length;
  };
  const found = [];
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, label";
  for (const el of document.querySelectorAll(selector)) {
    if (el.tagName === "LABEL") {
      const control = el.control;
      if (!control || !["checkbox", "radio"].includes(control.type)) continue;
    }
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || el.getClientRects().length === 0) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    // Moved off the screen until it has focus (the skip link): not a target until then.
    if (box.right <= 0 || box.bottom <= 0) continue;
    found.push({el, box, exempt: inSentence(el)});
  }
  const small = (t) => t.box.width < minimum - 0.01 || t.box.height < minimum - 0.01;
  const centre = (b) => [b.left + b.width / 2, b.top + b.height / 2];
  const distanceToBox = (point, b) => {
    const dx = Math.max(b.left - point[0], 0, point[0] - b.right);
    const dy = Math.max(b.top - point[1], 0, point[1] - b.bottom);
    return Math.hypot(dx, dy);
  };
  const problems = [];
  for (const target of found) {
    if (target.exempt || !small(target)) continue;
    // The spacing exception: a 24 px circle on its centre touches no other target, and no
    // other small target's circle.
    const here = centre(target.box);
    const crowded = found.some((other) => {
      if (other === target || other.el.contains(target.el) || target.el.contains(other.el)) {
        return false;
      }
      if (distanceToBox(here, other.box) < minimum / 2) return true;
      if (small(other) && !other.exempt) {
        const there = centre(other.box);
        return Math.hypot(here[0] - there[0], here[1] - there[1]) < minimum;
      }
      return false;
    });
    if (crowded) {
      problems.push(
        `${describe(target.el)} is ${target.box.width.toFixed(1)}×` +
        `${target.box.height.toFixed(1)} px, and too close to another target`
      );
    }
  }
  return problems;
}"""
)

WIDTH = """() => ({
  scroll: document.documentElement.scrollWidth,
  client: document.documentElement.clientWidth,
})"""

# Marks what Tab should reach, and returns how many: links, buttons, fields (one radio of a
# group: the checked one, or else the first) and anything with a tabindex of 0 or more.
MARK_FOCUSABLE = """() => {
  const selector = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), "
    + "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex^='-'])";
  const groups = new Set();
  let count = 0;
  for (const el of document.querySelectorAll(selector)) {
    if (el.getClientRects().length === 0 || getComputedStyle(el).visibility === "hidden") continue;
    if (el.type === "radio") {
      const group = (el.form ? "form" : "") + el.name;
      const checked = document.querySelector(`input[type=radio][name="${el.name}"]:checked`);
      if (groups.has(group) || (checked && checked !== el)) continue;
      groups.add(group);
    }
    el.dataset.focusCheck = "expected-" + count;
    count += 1;
  }
  window.__focusSeen = [];
  return count;
}"""

FOCUSED = (
    """() => {
  const describe = """
    + DESCRIBE
    + """;
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  if (!el.dataset.focusCheck || !el.dataset.focusCheck.startsWith("seen")) {
    if (!el.dataset.focusCheck) el.dataset.focusCheck = "unexpected";
    el.dataset.focusExpected = el.dataset.focusCheck.startsWith("expected") ? "1" : "0";
    el.dataset.focusCheck = "seen-" + window.__focusSeen.length;
    window.__focusSeen.push(el);
  }
  const style = getComputedStyle(el);
  return {
    key: el.dataset.focusCheck,
    what: describe(el),
    outline: style.outlineStyle === "none" ? "" :
      `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    shadow: style.boxShadow === "none" ? "" : style.boxShadow,
  };
}"""
)

WITHOUT_FOCUS = (
    """() => {
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  const styles = {};
  for (const el of window.__focusSeen) {
    const style = getComputedStyle(el);
    styles[el.dataset.focusCheck] = {
      outline: style.outlineStyle === "none" ? "" :
        `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
      shadow: style.boxShadow === "none" ? "" : style.boxShadow,
    };
  }
  const describe = """
    + DESCRIBE
    + """;
  const missed = [...document.querySelectorAll("[data-focus-check^='expected']")].map(describe);
  return {styles, missed};
}"""
)


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.2 AA rules (axe.min.js is injected into every page of the context)."""
    problems = []
    for violation in page.evaluate(RUN_AXE, AXE_TAGS):
        nodes = "; ".join(
            f"{node['target']} ({(node['summary'] or '').splitlines()[-1].strip()})"
            for node in violation["nodes"][:8]
        )
        more = len(violation["nodes"]) - 8
        problems.append(
            f"axe {violation['id']} [{violation['impact']}] {violation['help']}: {nodes}"
            + (f" … and {more} more" if more > 0 else "")
        )
    return problems


def reflow_problems(page: Page) -> list[str]:
    width = page.evaluate(WIDTH)
    if width["scroll"] > NARROWEST:
        return [f"scrolls sideways at {NARROWEST} px: the page is {width['scroll']} px wide"]
    return []


def target_problems(page: Page) -> list[str]:
    return [f"target size: {problem}" for problem in page.evaluate(MEASURE_TARGETS, MINIMUM_TARGET)]


def focus_problems(page: Page) -> list[str]:
    """Tab through the whole page, round to where it started, and look at each element."""
    expected = page.evaluate(MARK_FOCUSABLE)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    focused: dict[str, dict[str, Any]] = {}
    order: list[str | None] = []
    passed_the_end = False
    for _press in range(3 * (expected + 3)):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now is None:
            passed_the_end = bool(order)
            order.append(None)
            continue
        if passed_the_end and now["key"] == next(k for k in order if k):
            break  # round the page once
        focused.setdefault(now["key"], now)
        order.append(now["key"])
    after = page.evaluate(WITHOUT_FOCUS)
    problems = []
    for key, seen in focused.items():
        unfocused = after["styles"].get(key, {"outline": "", "shadow": ""})
        outline = (
            seen["outline"] and seen["outlineWidth"] > 0 and seen["outline"] != unfocused["outline"]
        )
        shadow = seen["shadow"] and seen["shadow"] != unfocused["shadow"]
        if not (outline or shadow):
            problems.append(f"focus not visible on {seen['what']}")
    problems += [f"Tab never reaches {what}" for what in after["missed"]]
    return problems


def audit(page: Page, label: str) -> list[str]:
    """Every check on the page as it is now; the problems, each starting with the page's label."""
    page.wait_for_load_state("load")
    found = [
        *axe_violations(page),
        *reflow_problems(page),
        *target_problems(page),
        *focus_problems(page),
    ]
    return [f"{label}: {problem}" for problem in found]


# --- touch: what a shaking thumb can hit (client pages, the trust issue) ------------------------

THUMB = 44  # CSS px, each way: WCAG 2.5.5 (AAA) and the platforms' own guidance
THUMB_GAP = 8  # CSS px between neighbouring targets

MEASURE_TOUCH = (
    """([thumb, gap]) => {
  const describe = """
    + DESCRIBE
    + """;
  const targets = [];
  const selector = "a[href], button, input[type=radio], input[type=checkbox], select";
  for (const el of document.querySelectorAll(selector)) {
    // A radio or checkbox inside its label: the whole label is the target.
    const target = (el.type === "radio" || el.type === "checkbox") && el.closest("label")
      ? el.closest("label") : el;
    const style = getComputedStyle(target);
    if (style.visibility === "hidden" || target.getClientRects().length === 0) continue;
    const box = target.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    // The skip link sits off the screen (left or right) until it has focus.
    if (box.right <= 0 || box.bottom <= 0 || box.left >= innerWidth) continue;
    if (!targets.some((t) => t.el === target)) targets.push({el: target, box});
  }
  const apart = (a, b) => {
    const dx = Math.max(b.left - a.right, a.left - b.right, 0);
    const dy = Math.max(b.top - a.bottom, a.top - b.bottom, 0);
    return Math.hypot(dx, dy);
  };
  const problems = [];
  for (const t of targets) {
    if (t.box.width < thumb - 0.5 || t.box.height < thumb - 0.5) {
      problems.push(`${describe(t.el)} is ${t.box.width.toFixed(1)}×${t.box.height.toFixed(1)} px`);
    }
  }
  for (let i = 0; i < targets.length; i++) {
    for (let j = i + 1; j < targets.length; j++) {
      const a = targets[i], b = targets[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const distance = apart(a.box, b.box);
      if (distance < gap - 0.5) {
        const what = `${describe(a.el)} and ${describe(b.el)}`;
        problems.push(`${what} are ${distance.toFixed(1)} px apart`);
      }
    }
  }
  return problems;
}"""
)

NEAREST_TARGET = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const box = el.getBoundingClientRect();
  let nearest = Infinity;
  for (const other of document.querySelectorAll("a[href], button, input, select, textarea")) {
    if (other === el || other.getClientRects().length === 0) continue;
    const b = other.getBoundingClientRect();
    if (b.right <= 0 || b.bottom <= 0) continue;
    const dx = Math.max(b.left - box.right, box.left - b.right, 0);
    const dy = Math.max(b.top - box.bottom, box.top - b.bottom, 0);
    nearest = Math.min(nearest, Math.hypot(dx, dy));
  }
  return nearest;
}"""


def touch_problems(page: Page) -> list[str]:
    """Every link, button, radio and checkbox (with its whole label) is at least 44 × 44 CSS px,
    with at least 8 px to its neighbours."""
    return [f"touch: {p}" for p in page.evaluate(MEASURE_TOUCH, [THUMB, THUMB_GAP])]


def distance_to_nearest_target(page: Page, selector: str) -> float | None:
    """How far the element is from the nearest other target, in CSS px."""
    found = page.evaluate(NEAREST_TARGET, selector)
    return None if found is None else float(found)
