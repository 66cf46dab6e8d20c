"""The cost of matching is bounded: linear in the post for every phrase and NEAR, duplicate branches
free, and a per-post budget with a visible outcome. Work is counted in the budget's units (paid
before the work is done), never in wall time, so these tests do not depend on the machine.

The attack (issue 12): ``(aa OR aa OR ...) NEAR/0 (bb OR ...)`` and a 40,000-character post of
repeated words. The matcher before this change compared every left occurrence with every right one,
for every pair of (duplicate) alternatives: 8 x 8 x 6,666 x 6,666 ~ 2.8e9 comparisons (minutes);
bench/bench_matching.py times both.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dengar_common.post_contract import MAX_TEXT_CHARS
from dengar_common.query import (
    DEFAULT_MATCH_BUDGET,
    MAX_TERM_POSITIONS,
    ListeningQuery,
    MatchBudget,
    MatchBudgetExceeded,
    MatchDoc,
    QuerySet,
    compile_query,
)
from dengar_common.query.reference import reference_eval

ATTACK = "(" + " OR ".join(["aa"] * 8) + ") NEAR/0 (" + " OR ".join(["bb"] * 8) + ")"


def _post_of(words: list[str]) -> str:
    text = " ".join(words)
    assert len(text) <= MAX_TEXT_CHARS
    return text


def _work(query: str, text: str, limit: int = 10**9) -> tuple[bool, int]:
    budget = MatchBudget(limit)
    return compile_query(query).evaluate(MatchDoc.build(text), budget), budget.used


def test_the_attack_costs_work_linear_in_the_post() -> None:
    # 40,000 characters: 6,666 "aa" then 6,666 "bb"; the only adjacent pair is in the middle, past
    # the first MAX_TERM_POSITIONS occurrences of either word.
    words = ["aa"] * 6_666 + ["bb"] * 6_666
    text = _post_of(words)
    assert len(text) > 39_990
    matched, used = _work(ATTACK, text)
    assert matched  # the cap never turns a match into "no"
    assert used <= 6 * len(words)
    # Alternating words: the first pair is among the first occurrences, found at once.
    matched, used = _work(ATTACK, _post_of(["aa", "bb"] * 6_666))
    assert matched
    assert used <= 13_332 + 1 + 4 * MAX_TERM_POSITIONS  # the index, then one capped sweep


def test_duplicate_alternatives_cost_nothing_extra() -> None:
    text = _post_of(["aa", "cc", "bb", "cc"] * 1_500)
    _, once = _work("aa NEAR/0 bb", text)
    matched, many = _work(ATTACK, text)
    assert not matched
    assert many == once
    _, once = _work("zz OR (aa NEAR/0 bb)", text)
    _, many = _work("zz OR zz OR " + " OR ".join(["(aa NEAR/0 bb)"] * 50), text)
    assert many == once > 0


def test_the_default_budget_stops_a_query_set_of_many_proximity_queries() -> None:
    # Every query is different, so nothing is shared: 300 x ~8,000 units would be 2.4M units.
    text = _post_of(["aa", "cc", "dd", "bb"] * 2_000)
    entries = [ListeningQuery(f"q{i}", compile_query(f"aa ONEAR/{i % 50} (bb OR x{i})"), "topic")
               for i in range(300)]
    entries.append(ListeningQuery("plain", compile_query("aa AND bb"), "brand"))
    report = QuerySet(entries).match_report(MatchDoc.build(text))
    assert report.work <= DEFAULT_MATCH_BUDGET
    # The first queries were answered (NEAR/2 and up match), the rest are reported, and a query
    # that needs no positions is still matched.
    assert "q2" in report.ids and "plain" in report.ids
    assert report.over_budget and set(report.over_budget).isdisjoint(report.ids)
    assert len(report.ids) + len(report.over_budget) + 2 == len(entries)  # q0, q1: no


def test_match_logs_the_queries_that_ran_out(caplog: pytest.LogCaptureFixture) -> None:
    qs = QuerySet([ListeningQuery("near", compile_query('"aa cc" NEAR/1 bb'), "topic"),
                   ListeningQuery("word", compile_query("aa"), "topic")])
    doc = MatchDoc.build(_post_of(["aa", "cc", "dd", "bb"] * 2_000))
    with caplog.at_level(logging.WARNING):
        assert qs.match(doc, MatchBudget(1_000)) == ["word"]
    assert "matching budget of 1000 work units ran out (queries near)" in caplog.text
    # With enough budget the same post matches both.
    assert qs.match(MatchDoc.build(_post_of(["aa", "cc", "dd", "bb"] * 2_000))) == ["near", "word"]


def test_the_cap_never_changes_an_answer() -> None:
    words = ["aa"] * (MAX_TERM_POSITIONS * 3)
    words[10] = "bb"
    early = _work("aa ONEAR/0 bb", _post_of(words))
    assert early[0]
    assert _work('"aa bb"', _post_of(words))[0]
    # Past the first MAX_TERM_POSITIONS occurrences: still found, at a higher cost.
    words[10], words[-1] = "aa", "bb"
    late = _work("aa ONEAR/0 bb", _post_of(words))
    assert late[0] and late[1] > early[1]
    assert _work('"aa bb"', _post_of(words))[0]
    assert not _work("bb ONEAR/0 aa", _post_of(words))[0]
    assert compile_query("aa NEAR/0 bb").matches(MatchDoc.build(_post_of(words)))


def test_over_budget_under_not_is_not_a_match() -> None:
    # "NOT (unknown)" must not turn into a match: the whole query is over budget.
    query = compile_query('zz AND NOT ("aa bb" NEAR/1 cc)')
    doc = MatchDoc.build(_post_of(["zz"] + ["aa", "bb", "dd", "ee"] * 2_000 + ["cc"]))
    with pytest.raises(MatchBudgetExceeded):
        query.evaluate(doc, MatchBudget(1_000))
    assert not query.matches(doc, MatchBudget(1_000))


def test_work_never_exceeds_the_budget() -> None:
    text = _post_of(["aa", "bb", "cc", "aabx", "bbcx"] * 2_000)
    query = compile_query('(aa OR aab* OR "bb cc") NEAR/3 (cc OR bbc*)')
    for limit in (1, 10, 1_000, 12_000, 30_000):
        budget = MatchBudget(limit)
        try:
            query.evaluate(MatchDoc.build(text), budget)
        except MatchBudgetExceeded:
            pass
        assert budget.used <= limit


# --- adversarial queries and posts ---------------------------------------------------------------

VOCAB = ["aaa", "bbb", "ccc", "aaab"]
ALTERNATIVES = ["aaa", "bbb", "ccc", "aaab", "aaa*", '"aaa bbb"', '"bbb aaa"', '"aaa aaa"', "#aaa", "ddd"]


@st.composite
def adversarial(draw: st.DrawFn) -> tuple[str, str]:
    """A query around one NEAR whose sides repeat alternatives, and a long post of few words in
    runs or alternations."""
    def side() -> str:
        alts = draw(st.lists(st.sampled_from(ALTERNATIVES), min_size=1, max_size=40))
        return alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")"

    op = draw(st.sampled_from(["NEAR", "ONEAR"]))
    near = f"{side()} {op}/{draw(st.integers(0, 50))} {side()}"
    query = draw(st.sampled_from(["{}", "aaa AND {}", "{} OR zzz", "bbb AND NOT ({})", "({}) OR ({})"]))
    query = query.format(near, near)
    pattern = draw(st.lists(st.sampled_from([*VOCAB, "#aaa"]), min_size=1, max_size=6))
    run = draw(st.integers(1, 400))
    size = draw(st.integers(20, 3_000))
    words: list[str] = []
    while len(words) < size:
        for w in pattern:
            words.extend([w] * run)
    tail = draw(st.lists(st.sampled_from(VOCAB), max_size=5))
    return query, " ".join(words + tail)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=adversarial())
def test_adversarial_work_is_linear_in_post_and_query(case: tuple[str, str]) -> None:
    query, text = case
    compiled = compile_query(query)
    doc = MatchDoc.build(text)
    budget = MatchBudget(10**9)
    matched = compiled.evaluate(doc, budget)
    # Work units: the index (one per token), then per distinct alternative at most its occurrences
    # a handful of times (twice when the first MAX_TERM_POSITIONS do not decide). With this
    # vocabulary any one position starts at most 4 distinct alternatives, so a NEAR costs at most
    # ~c x tokens whatever the number of repeated branches (the old matcher: ~tokens^2 x branches^2).
    assert budget.used <= 64 * (len(doc.words) + 1) + len(query), (query, budget.used)
    if len(doc.words) <= 150:
        assert matched == reference_eval(compiled.ast, text=text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=adversarial())
def test_budget_outcome_is_exact_or_reported(case: tuple[str, str]) -> None:
    """Whatever the budget, the answer is either the unlimited one or over budget (never a different
    answer), and no more work is done than the budget allows."""
    query, text = case
    compiled = compile_query(query)
    unlimited_budget = MatchBudget(10**9)
    unlimited = compiled.evaluate(MatchDoc.build(text), unlimited_budget)
    limit = max(1, unlimited_budget.used // 2)
    budget = MatchBudget(limit)
    try:
        assert compiled.evaluate(MatchDoc.build(text), budget) == unlimited
    except MatchBudgetExceeded:
        pass
    assert budget.used <= limit
