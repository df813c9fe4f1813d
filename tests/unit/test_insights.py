"""Insights on crafted data, checked against values worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flows.insights import by_week, csat, health, nps, response_rate, week_of

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_nps_is_the_share_of_promoters_less_the_share_of_detractors() -> None:
    summary = nps([10, 10, 9, 8, 6, 0, 9])

    assert (summary.promoters, summary.passives, summary.detractors) == (4, 1, 2)
    assert summary.score == 29  # 100 × (4 − 2) / 7 = 28.6
    assert nps([]).score is None
    assert nps([7, 8]).score == 0


def test_csat_averages_and_counts_the_satisfied() -> None:
    summary = csat([5, 4, 3, 1])

    assert (summary.total, summary.average, summary.satisfied) == (4, 3.25, 0.5)
    assert csat([]).average is None


def test_weeks_start_on_sunday_in_the_business_timezone() -> None:
    saturday_night = datetime(2026, 11, 21, 22, 30, tzinfo=UTC)  # Sunday 00:30 in Israel

    assert week_of(saturday_night, "Asia/Jerusalem") == date(2026, 11, 22)
    assert week_of(saturday_night, "UTC") == date(2026, 11, 15)
    weeks = by_week([(NOW, 9), (NOW - timedelta(days=7), 3), (NOW, 7)], timezone="Asia/Jerusalem")
    assert weeks == {date(2026, 11, 15): [3], date(2026, 11, 22): [9, 7]}


def test_the_response_rate_counts_touches_made_and_ignores_the_planned() -> None:
    rate = response_rate({"answered": 3, "expired": 1, "sent": 2, "planned": 9, "skipped": 4})

    assert (rate.sent, rate.answered, rate.share) == (6, 3, 0.5)
    assert response_rate({}).share is None


def test_a_falling_score_and_complaints_make_a_high_risk_explained_in_both_languages() -> None:
    verdict = health(
        now=NOW,
        nps_scores=[(NOW - timedelta(days=60), 9), (NOW - timedelta(days=2), 4)],
        complaints=[NOW - timedelta(days=3), NOW - timedelta(days=20), NOW - timedelta(days=45)],
    )

    assert verdict.score == 40  # 100 − 25 (detractor) − 20 (two recent complaints) − 15 (fell)
    assert verdict.risk == "high"
    assert [r.render("en") for r in verdict.reasons] == [
        "last NPS 4 (a detractor)",
        "2 complaints in 30 days",
        "NPS fell from 9 to 4",
    ]
    assert verdict.reasons[2].render("he") == "ה־NPS ירד מ־9 ל־4"


def test_a_promoter_in_touch_is_well_and_silence_or_opting_out_lowers_health() -> None:
    well = health(now=NOW, nps_scores=[(NOW, 10)], last_contact=NOW - timedelta(days=3))
    quiet = health(
        now=NOW,
        csat_scores=[(NOW, 2)],
        unanswered=2,
        last_contact=NOW - timedelta(days=75),
    )
    gone = health(now=NOW, opted_out=True)

    assert (well.score, well.risk, well.reasons) == (100, "low", ())
    assert (quiet.score, quiet.risk) == (60, "medium")  # 100 − 20 − 10 − 10
    assert [r.render("en") for r in quiet.reasons] == [
        "last CSAT 2 of 5",
        "2 check-ins left unanswered",
        "no contact for 75 days",
    ]
    assert (gone.score, gone.risk) == (50, "medium")
