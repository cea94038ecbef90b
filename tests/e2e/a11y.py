"""An accessibility audit of the page in the browser, and WCAG contrast arithmetic."""

from __future__ import annotations

import re

from playwright.sync_api import Page

# Returns one line per problem found on the page; an empty list is a pass.
AUDIT = """() => {
  const problems = [];
  const describe = (el) => {
    const name = el.getAttribute("name") || el.id || "";
    return `<${el.tagName.toLowerCase()}${name ? ` ${name}` : ""}>`;
  };
  const exists = (ids) =>
    ids.trim().split(/\\s+/).every((id) => document.getElementById(id) !== null);

  if (!document.documentElement.getAttribute("lang")) {
    problems.push("<html> has no lang");
  }
  const h1s = document.querySelectorAll("h1").length;
  if (h1s !== 1) problems.push(`${h1s} h1 elements, not exactly one`);

  for (const el of document.querySelectorAll("input, select, textarea")) {
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (type === "hidden" || type === "submit") continue;
    const labelledBy = el.getAttribute("aria-labelledby");
    const labelled =
      (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)) ||
      (labelledBy && exists(labelledBy)) ||
      el.closest("label");
    if (!labelled) problems.push(`${describe(el)} has no label`);
    const describedBy = el.getAttribute("aria-describedby");
    if (describedBy && !exists(describedBy)) {
      problems.push(`${describe(el)} is described by a missing element`);
    }
  }

  // WCAG 2.5.3, label in name: an aria-label begins with the words shown, so that
  // saying what one sees to a speech tool reaches the control.
  const words = (text) => text.replace(/\\s+/g, " ").trim().toLowerCase();
  for (const el of document.querySelectorAll("button[aria-label], a[aria-label]")) {
    const shown = words(el.innerText);
    if (!words(el.getAttribute("aria-label")).startsWith(shown)) {
      problems.push(
        `${describe(el)} shows "${shown}" but is named ` +
          `"${el.getAttribute("aria-label")}"`,
      );
    }
  }

  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`<img src=${img.src}> has no alt`);
  }

  const seen = new Set();
  for (const el of document.querySelectorAll("[id]")) {
    if (seen.has(el.id)) problems.push(`id ${JSON.stringify(el.id)} is not unique`);
    seen.add(el.id);
  }
  return problems;
}"""

HEX_RE = re.compile(r"--([\w-]+)\s*:\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\s*;")
ROOT_RE = re.compile(r":root\s*\{(.*?)\}", re.DOTALL)
DARK_RE = re.compile(
    r"@media\s*\(prefers-color-scheme:\s*dark\)\s*\{\s*:root\s*\{(.*?)\}", re.DOTALL
)


def audit(page: Page) -> list[str]:
    """Return the accessibility problems of the page as it is now."""
    problems: list[str] = page.evaluate(AUDIT)
    return problems


def custom_colours(stylesheet: str, scheme: str = "light") -> dict[str, str]:
    """Return the hex colours of the stylesheet's :root, by property name.

    `scheme` "dark" gives them as a browser set to dark mode has them: those of
    the `@media (prefers-color-scheme: dark)` block's :root over the light ones.
    """
    root = ROOT_RE.search(stylesheet)
    assert root, "the stylesheet has no :root block"
    colours = dict(HEX_RE.findall(root.group(1)))
    if scheme == "dark":
        colours.update(dark_colours(stylesheet))
    return colours


def dark_colours(stylesheet: str) -> dict[str, str]:
    """Return the hex colours the dark-mode :root block sets, by property name."""
    dark = DARK_RE.search(stylesheet)
    assert dark, "the stylesheet has no @media (prefers-color-scheme: dark) :root"
    return dict(HEX_RE.findall(dark.group(1)))


def _channel(value: int) -> float:
    srgb = value / 255
    return srgb / 12.92 if srgb <= 0.04045 else ((srgb + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rgb or #rrggbb colour."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    red, green, blue = (_channel(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 to 21."""
    lighter, darker = sorted(
        (relative_luminance(first), relative_luminance(second)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


# Every element that shows text, with its colour and the colour behind it: the first
# opaque background of it or an ancestor (the page's, at the top). SVG (avatars, the
# QR code) draws its own colours and is left out, as is text hidden from sight.
TEXT_COLOURS = """() => {
  const opaque = (colour) =>
    !/rgba\\(.*, 0\\)$/.test(colour) && colour !== "transparent";
  const behind = (el) => {
    for (let at = el; at; at = at.parentElement) {
      const colour = getComputedStyle(at).backgroundColor;
      if (opaque(colour)) return colour;
    }
    return getComputedStyle(document.documentElement).backgroundColor;
  };
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("svg")) continue;
    const own = [...el.childNodes].some(
      (node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim()
    );
    if (!own) continue;
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2 || !el.checkVisibility()) continue;
    found.push({
      text: el.innerText.trim().slice(0, 40),
      tag: el.tagName.toLowerCase(),
      colour: getComputedStyle(el).color,
      background: behind(el),
    });
  }
  return found;
}"""
RGB_RE = re.compile(r"rgba?\((\d+), (\d+), (\d+)")


def hex_of(css_colour: str) -> str:
    """Return a computed CSS colour, rgb() or rgba(), as #rrggbb (alpha dropped)."""
    match = RGB_RE.match(css_colour)
    assert match, f"not an rgb() colour: {css_colour}"
    return "#" + "".join(f"{int(part):02x}" for part in match.groups())


def low_contrast_text(page: Page, minimum: float = 4.5) -> list[str]:
    """Return each piece of text on the page, as drawn, below `minimum`:1 contrast."""
    shown: list[dict[str, str]] = page.evaluate(TEXT_COLOURS)
    problems = []
    for item in shown:
        ratio = contrast_ratio(hex_of(item["colour"]), hex_of(item["background"]))
        if ratio < minimum:
            problems.append(
                f"<{item['tag']}> {item['text']!r}: {item['colour']} on "
                f"{item['background']} is {ratio:.2f}:1"
            )
    return problems
