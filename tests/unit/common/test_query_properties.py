"""Property-based tests of the query language against the reference evaluator.

Random trees over a small vocabulary are rendered to text and compiled; random posts are built from
surface forms of the same vocabulary (case, diacritics, hashtags, glued suffixes, punctuation, emoji,
links, title + text). The compiled matcher, the candidate index of ``QuerySet`` and the round trip
text -> tree -> text must all agree with the obviously-correct ``reference_eval``.
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dengar_common.query import (
    And,
    Atom,
    Field,
    ListeningQuery,
    MatchDoc,
    Near,
    Node,
    Not,
    Or,
    QuerySet,
    QuerySyntaxError,
    Seq,
    compile_query,
    parse_query,
    render,
)
from dengar_common.query.reference import reference_eval, reference_tokens
from dengar_common.query.text import fold, strip_links, tokens

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Folded words a query may contain, and prefixes of them (>= 3 letters).
WORDS = ["gojek", "grab", "cafe", "telat", "late", "delivery", "mudik", "kopi", "or", "not", "go",
         "jek", "gojeknya", "deliveries", "x2"]
PREFIXES = ["goj", "gojek", "deliv", "caf", "mud", "tel", "lat"]
# Surface forms that posts are made of.
SURFACES = ["Gojek", "GOJEK", "gojek", "gojeknya", "Gojek's", "go-jek", "#Gojek", "@gojek", "#gojek2",
            "grab", "GrabFood", "@Grab", "café", "Café", "CAFÉ", "cafe\u0301", "caf\u00e9s", "telat",
            "TELAT", "late", "Late", "delivery", "deliveries", "#mudik", "Mudik", "mudik2025", "kopi",
            "KOPI", "or", "NOT", "x2", "X2", "jek", "go", "_", "😡", "🔥🔥", "https://t.co/gojek",
            "www.grab.com/late", "budi@gojek.com", "ﬁ", "Ｇｏｊｅｋ", "#_", "##mudik"]
SEPARATORS = [" ", " ", " ", "  ", ", ", "! ", "\n", "-", "…", "", "#", "@", " 😡 ", "'", "."]
FIELDS = [Field("lang", "id"), Field("lang", "en"), Field("lang", "en-us"), Field("platform", "x"),
          Field("platform", "reddit"), Field("author", "budi"), Field("author", "gocepat_id"),
          Field("has", "link")]


@st.composite
def atoms(draw: st.DrawFn) -> Atom:
    sigil = draw(st.sampled_from(["", "", "", "#", "@"]))
    if draw(st.integers(0, 4)) == 0:
        return Atom(draw(st.sampled_from(PREFIXES)), sigil, True)
    return Atom(draw(st.sampled_from(WORDS)), sigil)


seqs = st.builds(lambda a: Seq(tuple(a)), st.lists(atoms(), min_size=1, max_size=3))
alternatives = st.lists(seqs, min_size=1, max_size=2).map(tuple)
nears = st.builds(Near, alternatives, alternatives, st.integers(0, 4), st.booleans())
leaves = st.one_of(seqs, seqs, seqs, st.sampled_from(FIELDS), nears)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    many = st.lists(children, min_size=2, max_size=3).map(tuple)
    # NOT is rarer than AND/OR: a random tree full of NOTs is mostly a (rejected) pure negation.
    return st.one_of(st.builds(And, many), st.builds(Or, many), st.builds(And, many),
                     st.builds(Or, many), st.builds(Not, children))


trees = st.recursive(leaves, _extend, max_leaves=8)


def _seqs_of(tree: Node) -> list[Seq]:
    if isinstance(tree, Seq):
        return [tree]
    if isinstance(tree, Near):
        return list(tree.left + tree.right)
    if isinstance(tree, Not):
        return _seqs_of(tree.child)
    if isinstance(tree, And | Or):
        return [s for c in tree.children for s in _seqs_of(c)]
    return []


@st.composite
def surface_of(draw: st.DrawFn, seq: Seq) -> str:
    """A way a post may write something close to ``seq`` (so that posts often match)."""
    out = []
    for atom in seq.atoms:
        word = atom.word
        if atom.prefix:
            word += draw(st.sampled_from(["", "ery", "ik", "nya", "s"]))
        word = draw(st.sampled_from([word, word.upper(), word.capitalize(), word.replace("e", "é")]))
        sigil = draw(st.sampled_from([atom.sigil, atom.sigil, "", "#", "@"]))
        out.append(sigil + word)
    return draw(st.sampled_from([" ", " ", ", ", "-"])).join(out)


@st.composite
def texts(draw: st.DrawFn, max_parts: int = 10, tree: Node | None = None) -> str:
    pool = st.sampled_from(SURFACES)
    tree_seqs = _seqs_of(tree) if tree is not None else []
    if tree_seqs:
        from_tree = st.sampled_from(tree_seqs).flatmap(surface_of)
        pool = st.one_of(pool, from_tree, from_tree, from_tree)
    parts = draw(st.lists(pool, max_size=max_parts))
    out = []
    for part in parts:
        out.append(part)
        out.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(out)


def _fields_of(tree: Node) -> list[Field]:
    if isinstance(tree, Field):
        return [tree]
    if isinstance(tree, Not):
        return _fields_of(tree.child)
    if isinstance(tree, And | Or):
        return [f for c in tree.children for f in _fields_of(c)]
    return []


@st.composite
def posts(draw: st.DrawFn, tree: Node | None = None) -> dict[str, str]:
    post = {
        "text": draw(texts(max_parts=14, tree=tree)),
        "title": draw(st.one_of(st.just(""), texts(max_parts=4, tree=tree))),
        "platform": draw(st.sampled_from(["x", "reddit", "news", "twitter"])),
        "lang": draw(st.sampled_from(["", "id", "en", "en-US", "in", "ID", "en_us", "id-ID"])),
        "author": draw(st.sampled_from(["", "budi", "@Budi", "GoCepat_ID", "someone"])),
        "url": draw(st.sampled_from(["", "", "https://example.com/p/1"])),
    }
    # Often satisfy the tree's own filters, so that its other parts decide.
    for f in _fields_of(tree) if tree is not None else []:
        if draw(st.booleans()):
            post[{"has": "url"}.get(f.name, f.name)] = "https://t.co/x" if f.name == "has" else f.value
    return post


def _is_pure_negation(tree: Node) -> bool:
    return reference_eval(tree)


@SETTINGS
@given(data=st.data(), tree=trees)
def test_compiled_query_agrees_with_the_reference(data: st.DataObject, tree: Node) -> None:
    post = data.draw(posts(tree))
    text = render(tree)
    if _is_pure_negation(tree):
        try:
            compile_query(text)
        except QuerySyntaxError as err:
            assert "only excludes" in err.problem
            return
        raise AssertionError(f"pure negation accepted: {text}")
    query = compile_query(text)
    assert query.matches(MatchDoc.build(**post)) == reference_eval(tree, **post), (text, post)


@SETTINGS
@given(tree=trees)
def test_render_and_parse_are_inverse(tree: Node) -> None:
    text = render(tree)
    parsed = parse_query(text)
    assert parsed == tree
    assert render(parsed) == text


@SETTINGS
@given(data=st.data(), trees=st.lists(trees, min_size=1, max_size=12))
def test_queryset_index_agrees_with_evaluating_every_query(data: st.DataObject, trees: list[Node]) -> None:
    docs = data.draw(st.lists(posts(Or(tuple(trees)) if len(trees) > 1 else trees[0]),
                              min_size=1, max_size=5))
    entries = []
    for i, tree in enumerate(trees):
        if not _is_pure_negation(tree):
            entries.append(ListeningQuery(f"q{i}", compile_query(render(tree)), "topic"))
    qs = QuerySet(entries)
    for post in docs:
        doc = MatchDoc.build(**post)
        expected = [e.id for e in entries if reference_eval(e.query.ast, **post)]
        assert qs.match(doc) == expected
        assert qs.match_all(doc) == expected


@SETTINGS
@given(text=texts(max_parts=14))
def test_tokeniser_agrees_with_the_reference(text: str) -> None:
    stripped, link = strip_links(fold(text))
    words, raw = tokens(stripped)
    expected, expected_link = reference_tokens(text)
    assert link == expected_link
    assert list(words) == [w for _, w in expected]
    assert list(raw) == [s + w for s, w in expected]


QUERY_CHARS = string.ascii_letters[:8] + ' ()"-*#@:/0123456789' + "ANDORTNEA" * 2 + "é😡"


@SETTINGS
@given(text=st.text(alphabet=QUERY_CHARS, max_size=40))
def test_any_text_either_compiles_or_fails_with_a_position(text: str) -> None:
    try:
        query = compile_query(text)
    except QuerySyntaxError as err:
        assert 0 <= err.position <= len(text)
        assert err.expected
        assert f"position {err.position}" in err.problem
        assert str(err).count("^") == 1
    else:
        # Whatever was accepted has a normal form that means the same thing.
        again = compile_query(query.describe())
        assert again.ast == query.ast
