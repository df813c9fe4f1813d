"""Matching a customer's question to the knowledge base's entries (flows/knowledge.py), with
fixed vectors: the two signals, the threshold, and the words of an automatic answer."""

from __future__ import annotations

import math
from dataclasses import replace

from flows import knowledge
from flows.knowledge import Entry, Reaction, Weights
from flows.outcome import AnsweredFromKnowledge, RequestHandoff

HOURS = "Opening hours\nSunday to Thursday 9:00-18:00, Friday 8:00-13:00"
PARKING = "Parking\nFree parking behind the building"
CAKE_HE = "אפשר להזמין עוגה?\nכן, בהזמנה 48 שעות מראש"


def _unit(*xs: float) -> tuple[float, ...]:
    norm = math.sqrt(sum(x * x for x in xs))
    return tuple(x / norm for x in xs)


def test_content_words_leave_out_function_words_also_behind_a_prefix() -> None:
    assert knowledge.tokens("What time do you open on Friday?") == ["time", "open", "friday"]
    assert knowledge.tokens("ואני רוצה לדעת, בשישי אתם פתוחים?") == ["לדעת", "בשישי", "פתוחים"]


def test_a_word_is_matched_without_its_hebrew_prefixes_or_english_ending() -> None:
    assert knowledge.forms("ובשישי") == {"ובשישי", "בשישי", "שישי"}
    assert knowledge.forms("הכתובת") == {"הכתובת", "כתובת"}  # "תובת" is no word
    assert knowledge.forms("חלה") == {"חלה"}
    assert knowledge.forms("booking") == {"booking", "book"}
    assert {"cakes", "cake"} <= knowledge.forms("cakes")


def test_without_vectors_the_lexical_signal_ranks_and_its_own_threshold_decides() -> None:
    entries = [Entry(1, (HOURS,)), Entry(2, (PARKING,)), Entry(3, (CAKE_HE,))]

    ranked = knowledge.rank("Is there free parking?", entries)

    assert ranked[0].entry_id == 2
    assert ranked[0].semantic is None and ranked[0].score == ranked[0].lexical == 1.0
    assert [m.entry_id for m in knowledge.chosen(ranked)] == [2]
    assert knowledge.rank("להזמין עוגות?", entries)[0].entry_id == 3
    assert knowledge.chosen(knowledge.rank("do you sell gift cards?", entries)) == []


def test_the_semantic_signal_is_the_lead_over_the_questions_typical_cosine() -> None:
    # The baseline: the median of 0.70, 0.80 and 0.85 (0.80) drawn towards 0.80: 0.80.
    weights = Weights(baseline=0.8, prior=4, spread=0.1, semantic=1.0, lead=0.0, answer=0.5)
    question = _unit(1, 0)
    entries = [
        Entry(i, (f"entry {i}",), (_unit(c, math.sqrt(1 - c * c)),))
        for i, c in ((1, 0.70), (2, 0.85), (3, 0.80))
    ]

    ranked = knowledge.rank("x", entries, vector=question, weights=weights)

    assert (ranked[0].entry_id, ranked[0].semantic) == (2, 0.5)
    assert [m.semantic for m in ranked[1:]] == [0.0, 0.0]
    assert [m.entry_id for m in knowledge.chosen(ranked, weights=weights)] == [2]


def test_a_question_near_every_entry_is_near_none_of_them() -> None:
    weights = Weights(baseline=0.8, prior=0, spread=0.1, semantic=1.0, lead=0.0, answer=0.5)
    entries = [Entry(i, (f"entry {i}",), (_unit(0.9, math.sqrt(1 - 0.81)),)) for i in (1, 2, 3)]

    ranked = knowledge.rank("x", entries, vector=_unit(1, 0), weights=weights)

    assert {m.semantic for m in ranked} == {0.0}
    assert knowledge.chosen(ranked, weights=weights) == []


def test_an_entry_in_either_language_is_matched_by_its_nearest_vector() -> None:
    weights = Weights(baseline=0.0, prior=1, spread=1.0, semantic=1.0, lead=0.0, answer=0.9)
    both = Entry(1, ("עברית", "English"), (_unit(0, 1), _unit(1, 0)))

    (match,) = knowledge.rank("anything", [both], vector=_unit(1, 0), weights=weights)

    assert match.semantic == 0.5 and knowledge.chosen([match], weights=weights) == []
    assert knowledge.chosen([match], weights=replace(weights, answer=0.5)) != []


def test_the_signals_add_up_by_their_weights() -> None:
    weights = Weights(baseline=0.0, prior=1, spread=1.0, semantic=0.6)
    entry = Entry(1, ("Free parking behind the building",), (_unit(1, 1),))

    (match,) = knowledge.rank("parking, please", [entry], vector=_unit(1, 0), weights=weights)

    assert match.lexical == 1.0
    # One entry: the baseline is (1 × cos + 1 × 0) / 2, and the lead over it is cos / 2.
    assert math.isclose(match.score, 0.6 * (1 / math.sqrt(2)) / 2 + 0.4, abs_tol=1e-4)


def test_the_best_entrys_lead_adds_to_its_confidence_and_near_ones_go_along() -> None:
    weights = Weights(answer=0.9, lead=1.0, context=0.1)
    close = [knowledge.Match(1, 0.8, 0.8, 0.5), knowledge.Match(2, 0.78, 0.8, 0.5)]
    ahead = [
        knowledge.Match(1, 0.8, 0.9, 0.5),
        knowledge.Match(2, 0.75, 0.8, 0.5),
        knowledge.Match(3, 0.6, 0.6, 0.5),
    ]

    assert knowledge.chosen(close, weights=weights) == []  # 0.8 + 0.02 < 0.9
    # 0.8 + 0.05 < 0.9 too: the best needs more of a lead.
    assert knowledge.chosen(ahead, weights=weights) == []
    weights = replace(weights, answer=0.85)
    assert [m.entry_id for m in knowledge.chosen(ahead, weights=weights)] == [1, 2]
    assert knowledge.chosen([], weights=weights) == []


def test_an_automatic_answer_says_so_offers_a_person_and_names_its_entries() -> None:
    outcome = knowledge.automatic_answer(" Friday 8-13 ", [4], language="en", buttons=True)

    (said,) = outcome.replies
    assert said.text.startswith("🤖 Automatic answer:\nFriday 8-13\n")
    assert 'Write "agent"' in said.text
    assert said.choices == (
        ("kb:person", "👤 Talk to a person"),
        ("kb:unhelpful", "👎 Not helpful"),
    )
    assert outcome.effects == (AnsweredFromKnowledge((4,)),)


def test_without_buttons_the_word_is_the_way_to_a_person() -> None:
    outcome = knowledge.automatic_answer("שישי 8-13", [4], language="he", buttons=False)

    (said,) = outcome.replies
    assert said.choices == ()
    assert said.text.startswith("🤖 תשובה אוטומטית:") and "„נציג”" in said.text


def test_reactions_are_the_buttons_and_not_helpful_in_words() -> None:
    assert knowledge.reaction_of(None, choice="kb:person") is Reaction.PERSON
    assert knowledge.reaction_of(None, choice="kb:unhelpful") is Reaction.UNHELPFUL
    assert knowledge.reaction_of("לא עזר") is Reaction.UNHELPFUL
    assert knowledge.reaction_of("That didn't help!") is Reaction.UNHELPFUL
    assert knowledge.reaction_of("👎") is Reaction.UNHELPFUL
    assert knowledge.reaction_of("thanks, that helped") is None
    assert knowledge.reaction_of(None, choice="nps:9") is None


def test_either_reaction_asks_for_a_person() -> None:
    (effect,) = knowledge.after_reaction(Reaction.UNHELPFUL).effects
    assert isinstance(effect, RequestHandoff) and effect.trigger == "request"
