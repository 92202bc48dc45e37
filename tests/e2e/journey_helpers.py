"""Helpers of the browser journeys: log in through the real form, screenshot every step, and check
that a page shows no untranslated English.

The English check reads what a person actually sees — the text nodes of ``<main>``, the top app
bar and the message snackbar that are rendered visible (icon ligatures such as ``menu`` excluded),
plus placeholders and button values — and reports every ASCII word of three or more letters that
is not data (hazard code, usernames, file names, USCC …) or an allowed acronym/brand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

# Words that may stay in Latin letters in a Chinese UI: the brand, file formats, the USCC acronym,
# and the language switch (each language is named in itself: "English").
ALLOWED_WORDS = frozenset(
    {
        "SafeChain",
        "JPEG",
        "JPG",
        "PNG",
        "WebP",
        "PDF",
        "CSV",
        "JSON",
        "USCC",
        "DOCX",
        "XLSX",
        "English",
    }
)
DRAWER_PERSISTENT_FROM = 992  # px: viewflow's breakpoint between the modal and the open drawer
WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{3,}(?![A-Za-z])")

# Visible text of the page's chrome and content. Text inside icon fonts is a ligature name, not
# prose; hidden text (closed drawers, collapsed <details>, display:none) is not seen.
VISIBLE_TEXT_JS = """
(selectors) => {
  const out = [];
  const seen = new Set();
  const skip = '.material-icons, .material-icons-outlined, script, style, noscript, template';
  for (const selector of selectors) {
    for (const root of document.querySelectorAll(selector)) {
      if (seen.has(root)) continue;
      seen.add(root);
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      let node;
      while ((node = walker.nextNode())) {
        const el = node.parentElement;
        if (!el || el.closest(skip)) continue;
        if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        const text = node.textContent.replace(/\\s+/g, ' ').trim();
        if (text) out.push(text);
      }
      for (const el of root.querySelectorAll('[placeholder], input[type=submit], input[type=button]')) {
        if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        const text = (el.getAttribute('placeholder') || el.value || '').trim();
        if (text) out.push(text);
      }
      for (const select of root.querySelectorAll('select')) {
        if (!select.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        const option = select.options[select.selectedIndex];
        if (option && option.text.trim()) out.push(option.text.trim());
      }
    }
  }
  return out;
}
"""
TEXT_ROOTS = ["main", ".mdc-top-app-bar", ".mdc-snackbar", ".sc-messages", "vf-snackbar"]


def english_words(texts: Iterable[str], *, data: Iterable[str] = ()) -> list[str]:
    """The ASCII words (3+ letters) of ``texts`` that are neither data nor allowed.

    ``data`` strings (hazard code, usernames, file names, USCC, enterprise names) are cut out of
    the text before it is split, so a file name like ``before.jpg`` or a USCC's letters do not count.
    """
    pieces = sorted({d for d in data if d}, key=len, reverse=True)
    allowed = {w.casefold() for w in ALLOWED_WORDS}
    found: list[str] = []
    for text in texts:
        for piece in pieces:
            text = text.replace(piece, " ")
        for word in WORD.findall(text):
            if word.casefold() not in allowed and word not in found:
                found.append(word)
    return found


@dataclass
class Journey:
    """Screenshots numbered in the order taken, and the problems seen on the way.

    Problems (English on a page, a phone page wider than the screen) are collected rather than
    raised at once, so one run lists every offender and still leaves the screenshots behind; the
    test asserts that the list is empty at the end.
    """

    artifacts: Path
    data: set[str] = field(default_factory=set)
    shots: list[Path] = field(default_factory=list)
    english: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def watch(self, page: Page, who: str) -> None:
        """Record every server error (5xx) the page receives, pages and images alike."""

        def on_response(response: Any) -> None:
            if response.status >= 500:
                self.problems.append(f"{who}: HTTP {response.status} for {response.url}")

        page.on("response", on_response)

    def step(self, page: Page, name: str, *, phone: bool) -> Path:
        """Screenshot ``page`` as ``journey-NN-<name>.png`` and check its text (and width on a phone)."""
        page.wait_for_load_state("load")
        # Eager images (the flow chart …) finish loading before the shot; lazy ones below the fold
        # never start, the journey checks the evidence thumbnails itself.
        page.wait_for_function(
            "() => [...document.querySelectorAll('main img')]"
            ".every(i => i.complete || i.loading === 'lazy')"
        )
        self.check_chinese(page, name)
        if phone:
            self.check_fits_phone(page, name)
        self.check_images(page, name)
        path = self.artifacts / f"journey-{len(self.shots) + 1:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        self.shots.append(path)
        return path

    def check_chinese(self, page: Page, name: str) -> None:
        texts: list[str] = page.evaluate(VISIBLE_TEXT_JS, TEXT_ROOTS)
        words = english_words(texts, data=self.data)
        if words:
            lines = [t for t in texts if any(w in t for w in words)]
            path = page.url.split("//", 1)[-1].split("/", 1)[-1]
            self.english.setdefault(f"{name} (/{path})", []).extend(
                (line, [w for w in words if w in line]) for line in lines
            )

    def check_fits_phone(self, page: Page, name: str) -> None:
        width = page.evaluate("document.scrollingElement.scrollWidth")
        viewport = page.viewport_size or {"width": 0}
        if width > viewport["width"] + 1:
            self.problems.append(
                f"{name}: page is {width}px wide on a {viewport['width']}px phone screen"
            )

    def check_images(self, page: Page, name: str) -> None:
        """Images of the content that the browser fetched but could not show (404, 403, bad data)."""
        broken: list[str] = page.eval_on_selector_all(
            "main img",
            "els => els.filter(i => i.complete && i.naturalWidth === 0)"
            ".map(i => i.getAttribute('src'))",
        )
        self.problems.extend(f"{name}: broken image {src}" for src in broken)

    def report(self) -> str:
        """Every offender, page by page, ready for an assertion message."""
        out = []
        for page_name, lines in self.english.items():
            out.append(f"  untranslated English on {page_name}:")
            out.extend(f"    {words} in {line!r}" for line, words in lines)
        out.extend(f"  {problem}" for problem in self.problems)
        out.append("  screenshots:")
        out.extend(f"    {path}" for path in self.shots)
        return "\n".join(out)


def log_in(
    page: Page,
    base_url: str,
    *,
    username: str,
    password: str,
    journey: Journey | None = None,
    step: str = "",
    phone: bool = True,
) -> None:
    """Log in through the real login form and land on the workbench.

    With a ``journey`` the filled-in login page is checked and screenshotted as ``step`` first.
    """
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    if journey is not None:
        journey.step(page, step or "login", phone=phone)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/")


def open_menu_link(page: Page, name: str) -> None:
    """Follow a link of the navigation drawer; on a phone the drawer is opened first.

    viewflow keeps the drawer open on screens at least 992 px wide and closed (modal) below.
    """
    # The accessible name may start with the icon's ligature ("add_a_photo 登记隐患") and end with
    # a counter ("待认领 1").
    label = re.compile(rf"(^|\s){re.escape(name)}(\s+\d+)?$")
    link = page.locator("aside.vf-page__menu").get_by_role("link", name=label)
    viewport = page.viewport_size or {"width": 0}
    if viewport["width"] < DRAWER_PERSISTENT_FROM:
        page.locator("button.vf-page__menu-toggle").click()
    expect(link).to_be_visible()
    link.click()


def image_loaded(page: Page, selector: str) -> Any:
    """Whether every image matched by ``selector`` has been decoded (natural width > 0)."""
    return page.eval_on_selector_all(
        selector, "els => els.length > 0 && els.every(i => i.complete && i.naturalWidth > 0)"
    )
