"""Listening-query parser: trees, normalised rendering, and errors with exact positions."""

from __future__ import annotations

import pytest

from dengar_common.query import (
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    And,
    Atom,
    Field,
    Near,
    Not,
    Or,
    QuerySyntaxError,
    Seq,
    compile_query,
    parse_query,
    render,
)


def term(word: str, sigil: str = "", prefix: bool = False) -> Seq:
    return Seq((Atom(word, sigil, prefix),))


def phrase(*words: str) -> Seq:
    return Seq(tuple(Atom(w) for w in words))


# --- trees -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query,tree", [
    ("delivery", term("delivery")),
    ("Delivery", term("delivery")),
    ("Café", term("cafe")),
    ('"late delivery"', phrase("late", "delivery")),
    ("\u201clate delivery\u201d", phrase("late", "delivery")),
    ('"gojek"', term("gojek")),
    ("deliv*", term("deliv", prefix=True)),
    ('"late deliv*"', Seq((Atom("late"), Atom("deliv", prefix=True)))),
    ("#Mudik", term("mudik", "#")),
    ("@GoCepat_ID", term("gocepat_id", "@")),
    ("#mudik*", term("mudik", "#", True)),
    # A term that the tokeniser splits is a phrase: posts are split the same way.
    ("go-jek", phrase("go", "jek")),
    ("Gojek's", phrase("gojek", "s")),
    ('"late, delivery!!"', phrase("late", "delivery")),
    ("a b", And((term("a"), term("b")))),
    ("a AND b AND c", And((term("a"), term("b"), term("c")))),
    ("a AND (b AND c)", And((term("a"), And((term("b"), term("c")))))),
    ("a OR b c", Or((term("a"), And((term("b"), term("c")))))),
    ("(a OR b) c", And((Or((term("a"), term("b"))), term("c")))),
    ("a -b", And((term("a"), Not(term("b"))))),
    ("a NOT b", And((term("a"), Not(term("b"))))),
    ("a -(b OR c)", And((term("a"), Not(Or((term("b"), term("c"))))))),
    ("NOT NOT a", Not(Not(term("a")))),
    ("late NEAR/3 delivery", Near((term("late"),), (term("delivery"),), 3)),
    ('"late" ONEAR/0 deliv*', Near((term("late"),), (term("deliv", prefix=True),), 0, True)),
    ("(late OR telat) NEAR/5 (gojek OR #gojek)",
     Near((term("late"), term("telat")), (term("gojek"), term("gojek", "#")), 5)),
    ("NOT a NEAR/2 b", Not(Near((term("a"),), (term("b"),), 2))),
    ("x a NEAR/2 b", And((term("x"), Near((term("a"),), (term("b"),), 2)))),
    ("lang:ID", Field("lang", "id")),
    ("lang:in", Field("lang", "id")),
    ("lang:en_US", Field("lang", "en-us")),
    ("platform:Twitter", Field("platform", "x")),
    ("platform:hn", Field("platform", "hackernews")),
    ("author:@GoCepat_ID", Field("author", "gocepat_id")),
    ("author:budi.bsky.social", Field("author", "budi.bsky.social")),
    ("author:budi@mastodon.social", Field("author", "budi@mastodon.social")),
    ("Has:Link", Field("has", "link")),
    ('"or"', term("or")),
    ('"NOT late"', phrase("not", "late")),
    ("near me", And((term("near"), term("me")))),
])
def test_parse(query: str, tree: object) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize("query,normal", [
    ("gojek grab", "gojek AND grab"),
    ("Gojek OR grab -promo", "gojek OR (grab AND NOT promo)"),
    ("(GOJEK OR #Gojek) telat", "(gojek OR #gojek) AND telat"),
    ("\u201cLate   Delivery\u201d", '"late delivery"'),
    ("go-jek", '"go jek"'),
    ('"or"', '"or"'),
    ("platform:twitter lang:IN author:@Budi has:LINK", "platform:x AND lang:id AND author:budi AND has:link"),
    ("(late OR (telat OR lambat)) NEAR/3 deliv*", "(late OR telat OR lambat) NEAR/3 deliv*"),
    ("a ONEAR/2 b", "a ONEAR/2 b"),
    ("-(a b) c", "NOT (a AND b) AND c"),
])
def test_describe_gives_the_normal_form(query: str, normal: str) -> None:
    assert compile_query(query).describe() == render(parse_query(query)) == normal
    assert str(compile_query(normal)) == normal


# --- errors ------------------------------------------------------------------------------------------


BAD = [
    # (query, position, expected (exact), start of the one-line reason)
    ("", 0, "a term", "The query is empty"),
    ("   ", 0, "a term", "The query is empty"),
    ("gojek AND", 9, 'a term or "("', 'Expected a term or "(" after AND at position 9'),
    ("gojek OR", 8, 'a term or "("', 'Expected a term or "(" after OR at position 8'),
    ("AND gojek", 0, 'a term or "("', 'Expected a term or "(" at position 0, found AND'),
    ("gojek AND OR grab", 10, 'a term or "("', 'Expected a term or "(" after AND at position 10, found OR'),
    ("gojek NOT", 9, 'a term or "("', 'Expected a term or "(" after NOT at position 9'),
    ("()", 1, 'a term or "("', 'Expected a term or "(" after "(" at position 1, found ")"'),
    ("gojek AND (grab OR)", 18, 'a term or "("', 'Expected a term or "(" after OR at position 18'),
    ("(gojek OR grab", 0, '")"', 'Unclosed "(" at position 0'),
    ("gojek AND ((grab OR ojol) telat", 10, '")"', 'Unclosed "(" at position 10'),
    ("gojek)", 5, "an operator, a term or the end of the query", 'Unexpected ")" at position 5'),
    ('"late delivery', 0, 'a closing "', "Unclosed quote at position 0"),
    ('gojek "late', 6, 'a closing "', "Unclosed quote at position 6"),
    ('""', 0, "words between the quotes", "Empty phrase at position 0"),
    ("gojek NEAR grab", 10, '"/" and a number of words, e.g. NEAR/3', "NEAR needs a distance at position 10"),
    ("gojek ONEAR/ grab", 12, "a number from 0 to 50",
     "Expected a number of words after ONEAR/ at position 12"),
    ("gojek NEAR/x grab", 11, "a number from 0 to 50",
     "Expected a number of words after NEAR/ at position 11"),
    ("gojek NEAR/99 grab", 11, "a number from 0 to 50", "NEAR distance 99 at position 11 is too large"),
    ("gojek NEAR/3", 12, "a word, phrase or wildcard",
     "Expected a word, phrase or wildcard after NEAR/3 at position 12"),
    ("a NEAR/3 -b", 9, "a word, phrase or wildcard",
     "Expected a word, phrase or wildcard after NEAR/3 at position 9"),
    ("(gojek AND grab) NEAR/3 telat", 0, "a word, phrase or wildcard", "NEAR/3 works on words"),
    ("lang:id NEAR/2 gojek", 0, "a word, phrase or wildcard", "NEAR/2 works on words"),
    ("a NEAR/2 b NEAR/2 c", 11, "AND, OR or the end of the query",
     "NEAR/2 cannot be followed by NEAR/2 at position 11"),
    ("gojek or grab", 6, 'OR or a quoted "or"',
     "Operators are written in capitals: did you mean OR at position 6?"),
    ("gojek near/3 grab", 6, "NEAR/3",
     "Operators are written in capitals: did you mean NEAR/3 at position 6?"),
    ("lang:indonesia", 5, "a language code such as id, en or en-US", "Expected a language code after lang:"),
    ("gojek lang:", 11, "a language code such as id, en or en-US",
     "Expected a language code after lang: such as id or en at position 11"),
    ("platform:myspace", 9, "one of bluesky, facebook, forum, hackernews, instagram, mastodon, news, other, "
     "reddit, review, rss, tiktok, x, youtube", "Expected a platform after platform:"),
    ("has:photo", 4, "link", "Expected link after has:, found 'photo' at position 4"),
    ("author:@", 7, "a handle such as @gocepat", "Expected a handle after author:"),
    ("gojek foo:bar", 6, "one of the fields author:, has:, lang:, platform:",
     'Unknown field "foo:" at position 6'),
    ("NOT gojek", 0, "a term to look for", "This query only excludes posts"),
    ("-promo", 0, "a term to look for", "This query only excludes posts"),
    ("gojek OR NOT grab", 9, "a term to look for", "This query only excludes posts (NOT at position 9)"),
    ("NOT lang:en", 0, "a term to look for", "This query only excludes posts"),
    ("go*", 2, 'at least 3 letters or digits before "*"', "A wildcard needs at least 3 letters"),
    ("#mu*", 3, 'at least 3 letters or digits before "*"', "A wildcard needs at least 3 letters"),
    ("*", 0, 'at least 3 letters or digits before "*"', "A wildcard needs at least 3 letters"),
    ("*jek", 0, "a word before a final *", '"*" is only allowed at the end of a word, at position 0'),
    ('gojek "de*liv"', 9, "a word before a final *",
     '"*" is only allowed at the end of a word, at position 9'),
    ("gojek -", 7, 'a term directly after "-"', 'Expected a term right after "-" at position 7'),
    ("!!!", 0, "a word with letters or digits", "'!!!' at position 0 has no letters or digits"),
    ("gojek 😡", 6, "a word with letters or digits", "'😡' at position 6 has no letters or digits"),
    ("https://gojek.com/promo", 0, "a word, or has:link", "Links are not searched as words (position 0)"),
    ("x" * (MAX_QUERY_CHARS + 1), MAX_QUERY_CHARS, "at most 4000 characters", "The query is too long"),
    ("(" * (MAX_DEPTH + 5) + "a" + ")" * (MAX_DEPTH + 5), MAX_DEPTH, "at most 32 levels of nesting",
     f"The query is nested too deeply at position {MAX_DEPTH}"),
    ("NOT " * 40 + "a", 4 * MAX_DEPTH, "at most 32 levels of nesting", "The query is nested too deeply"),
]


@pytest.mark.parametrize("query,position,expected,reason", BAD, ids=[b[0][:30] or "empty" for b in BAD])
def test_errors_say_where_and_what_was_expected(query: str, position: int, expected: str,
                                                reason: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        compile_query(query)
    err = info.value
    assert (err.position, err.expected) == (position, expected), err.problem
    assert err.problem.startswith(reason)
    assert f"position {position}" in err.problem
    assert err.query == query


def test_error_message_draws_a_caret_under_the_position() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        compile_query("gojek AND (telat OR)")
    assert str(info.value) == (
        'Expected a term or "(" after OR at position 19, found ")"\n'
        "  gojek AND (telat OR)\n"
        "                     ^")


def test_caret_of_a_long_query_points_into_an_excerpt() -> None:
    query = "(" + " OR ".join(f"brand{i}" for i in range(60)) + ") AND"
    with pytest.raises(QuerySyntaxError) as info:
        compile_query(query)
    _, line, caret = str(info.value).split("\n")
    assert line.startswith("  ...") and len(line) < 90
    assert line[caret.index("^") - 3:caret.index("^")] == "AND"


def test_newlines_in_a_query_do_not_shift_the_caret() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        compile_query("gojek\nAND\t)")
    _, line, caret = str(info.value).split("\n")
    assert line == "  gojek AND )" and caret.index("^") == line.index(")")


def test_maximum_length_and_depth_are_accepted() -> None:
    compile_query("x" * MAX_QUERY_CHARS)
    compile_query("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)


def test_a_negation_beside_something_positive_is_fine() -> None:
    for query in ("gojek NOT promo", "lang:id NOT promo", "gojek AND (telat OR NOT lambat)", "NOT NOT gojek",
                  "author:gocepat_id", "NOT (NOT gojek OR NOT grab)"):
        compile_query(query)
