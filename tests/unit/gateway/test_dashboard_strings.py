"""The dashboard's interface text: the English and Indonesian dictionaries hold the same keys, and
every key the page names (data-i18n, data-i18n-placeholder) is in them."""

from __future__ import annotations

import re
from importlib import resources

STATIC = resources.files("dengar_gateway") / "static"
# A key starts a line or follows the previous value's closing quote; its value is a string.
KEY = re.compile(r'(?:^\s*|",\s*)([A-Za-z_][A-Za-z0-9_]*): "', re.M)


def _dictionary(js: str, lang: str) -> set[str]:
    m = re.search(rf"\n    {lang}: \{{\n(.*?)\n    \}},", js, re.S)
    assert m, f"no {lang} dictionary in app.js"
    return set(KEY.findall(m.group(1)))


def test_both_languages_have_the_same_strings() -> None:
    js = (STATIC / "app.js").read_text("utf-8")
    en, id_ = _dictionary(js, "en"), _dictionary(js, "id")
    assert len(en) > 100
    assert en - id_ == set() and id_ - en == set()
    html = (STATIC / "index.html").read_text("utf-8")
    named = set(re.findall(r'data-i18n(?:-placeholder)?="([A-Za-z_]+)"', html))
    assert named and named <= en
    used = set(re.findall(r'\bt\("([A-Za-z][A-Za-z0-9]*)"', js))
    assert used <= en, used - en
