"""The documentation stays true to the repository: the settings page matches the settings model,
and every relative link of README.md and docs/ resolves inside the repository, anchors included."""

from __future__ import annotations

import importlib.util
import re
import sys
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("**/*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# [text](target) and ![alt](target); the target stops at whitespace (an optional "title" follows).
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HTML_TARGET = re.compile(r"""<(?:a|img)\s[^>]*?(?:href|src)=["']([^"']+)["']""", re.IGNORECASE)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)
_EXPLICIT_ANCHOR = re.compile(r"""<a\s[^>]*?(?:name|id)=["']([^"']+)["']""", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _generator() -> ModuleType:
    path = DOCS / "generate_configuration.py"
    spec = importlib.util.spec_from_file_location("generate_configuration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_the_configuration_page_is_what_the_settings_model_generates() -> None:
    generated = _generator().render()
    committed = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert committed == generated, (
        "docs/configuration.md has drifted from src/pessoas/settings.py: "
        "run .venv/bin/python docs/generate_configuration.py and commit the page"
    )


def test_every_setting_has_a_row_on_the_configuration_page() -> None:
    from pessoas.settings import ENV_PREFIX, Settings

    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert f"| `{ENV_PREFIX}{name.upper()}` |" in page
        assert field.description, f"{name} has no description to document"


def _prose(text: str) -> str:
    """The page without code blocks, inline code and comments, where a link is not a link."""
    for pattern in (_FENCE, _HTML_COMMENT, _INLINE_CODE):
        text = pattern.sub("", text)
    return text


def _targets(page: Path) -> list[str]:
    text = _prose(page.read_text(encoding="utf-8"))
    return [
        match.group(1)
        for pattern in (_INLINE_LINK, _REFERENCE, _HTML_TARGET)
        for match in pattern.finditer(text)
    ]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower-cased, punctuation dropped, spaces as dashes."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays, its target goes
    text = re.sub(r"<[^>]+>", "", text)
    text = text.strip().lower()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in " -_" or category[0] in "LN" or category == "Mn":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    text = _FENCE.sub("", text)
    found: set[str] = set()
    seen: dict[str, int] = {}
    for match in _HEADING.finditer(text):
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    found.update(match.group(1) for match in _EXPLICIT_ANCHOR.finditer(text))
    return found


def _problems(page: Path) -> list[str]:
    problems = []
    for target in _targets(page):
        if not target or _SCHEME.match(target) or target.startswith("//"):
            continue  # an outside URL (http:, https:, mailto:) is not the repository's to check
        path_part, _, fragment = target.partition("#")
        if path_part.startswith("/"):
            problems.append(f"{target}: an absolute path; link relatively inside the repository")
            continue
        resolved = (page.parent / path_part).resolve() if path_part else page
        try:
            resolved.relative_to(ROOT)
        except ValueError:
            problems.append(f"{target}: leaves the repository")
            continue
        if not resolved.exists():
            problems.append(f"{target}: {resolved.relative_to(ROOT)} does not exist")
            continue
        if fragment:
            if resolved.suffix != ".md" or resolved.is_dir():
                problems.append(f"{target}: an anchor into something that is not a Markdown page")
            elif fragment not in anchors(resolved):
                problems.append(
                    f"{target}: no heading of {resolved.relative_to(ROOT)} has the anchor #{fragment}"
                )
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_link_resolves_inside_the_repository(page: Path) -> None:
    assert _problems(page) == []


def test_the_link_checker_sees_what_it_must(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# The `b` page: its part\n\n## Again\n## Again\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/b.md#the-b-page-its-part) [dup](docs/b.md#again-1) [self](#top) "
        "[out](../shared/SPEC.md) [gone](docs/c.md) [bad anchor](docs/b.md#nope) "
        "[web](https://example.com/x) `[code](nowhere.md)`\n\n```\n[fenced](nowhere.md)\n```\n# Top\n"
    )
    assert _problems(page) == [
        "../shared/SPEC.md: leaves the repository",
        "docs/c.md: docs/c.md does not exist",
        "docs/b.md#nope: no heading of docs/b.md has the anchor #nope",
    ]


def test_no_page_points_at_the_shared_specification() -> None:
    offenders = [
        str(page.relative_to(ROOT)) for page in PAGES if "shared/SPEC.md" in page.read_text(encoding="utf-8")
    ]
    assert offenders == [], "link docs/contract.md, the repository's own statement of the contract"
