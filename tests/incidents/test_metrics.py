"""The incident metrics and their chart, as rules with real values: no database, no HTTP.

The examples run in November 2026. Sunday 29 November 23:30 UTC is already Monday morning in
Tokyo; Saturday 31 October 23:30 in New York is already November in UTC.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.utils.safestring import SafeString

from incidents.charts import bar_chart
from incidents.metrics import (
    Completion,
    IncidentFacts,
    PeriodCount,
    ShiftLoad,
    Spread,
    counts_by_period,
    incidents_per_shift,
    percentile,
    postmortem_completion,
    time_to_acknowledge,
    time_to_resolve,
)

SVG = "{http://www.w3.org/2000/svg}"
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY_SHIFT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TUESDAY_SHIFT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def minutes(*values: float) -> list[timedelta]:
    return [timedelta(minutes=v) for v in values]


def incident(
    started_at: datetime,
    *,
    severity: str = "SEV2",
    detected_after: timedelta | None = None,
    acknowledged_after: timedelta | None = None,
    resolved_after: timedelta | None = None,
    needs_postmortem: bool = False,
    postmortem_published: bool = False,
    shift_start: datetime | None = None,
) -> IncidentFacts:
    """An incident; acknowledgement counts from detection (or the start), resolution from the
    start, as the metrics do."""
    detected_at = started_at + detected_after if detected_after is not None else None
    return IncidentFacts(
        severity=severity,
        started_at=started_at,
        detected_at=detected_at,
        acknowledged_at=(
            (detected_at or started_at) + acknowledged_after
            if acknowledged_after is not None
            else None
        ),
        resolved_at=started_at + resolved_after if resolved_after is not None else None,
        needs_postmortem=needs_postmortem,
        postmortem_published=postmortem_published,
        shift_start=shift_start,
    )


def at(day: int, hour: int = 12, minute: int = 0, *, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def severities(sev1: int = 0, sev2: int = 0, sev3: int = 0, sev4: int = 0) -> dict[str, int]:
    return {"SEV1": sev1, "SEV2": sev2, "SEV3": sev3, "SEV4": sev4}


# Percentiles: linear interpolation between closest ranks.


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        (minutes(7), minutes(7), minutes(7)),
        (minutes(10, 1, 5, 2, 3), minutes(3), minutes(8)),
        (minutes(4, 1, 3, 2), minutes(2.5), minutes(3.7)),
        (minutes(5, 5), minutes(5), minutes(5)),
    ],
    ids=["one value", "odd count", "even count", "ties"],
)
def test_median_and_p90_interpolate_between_ranks(
    values: list[timedelta], median: list[timedelta], p90: list[timedelta]
) -> None:
    assert percentile(values, 0.5) == median[0]
    assert percentile(values, 0.9) == p90[0]


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 0.5) is None
    assert percentile([], 0.9) is None


def test_percentile_ends_are_the_minimum_and_maximum() -> None:
    assert percentile(minutes(3, 9, 1), 0) == timedelta(minutes=1)
    assert percentile(minutes(3, 9, 1), 1) == timedelta(minutes=9)


@pytest.mark.parametrize("q", [-0.1, 1.5, 90])
def test_percentile_refuses_a_quantile_outside_zero_to_one(q: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile(minutes(1, 2), q)


# Response times.


def test_time_to_acknowledge_counts_from_detection_or_else_the_start() -> None:
    facts = [
        incident(at(2), detected_after=timedelta(minutes=5), acknowledged_after=minutes(10)[0]),
        incident(at(3), acknowledged_after=timedelta(minutes=4)),
    ]
    assert time_to_acknowledge(facts) == Spread(
        count=2, median=timedelta(minutes=7), p90=timedelta(minutes=9, seconds=24)
    )


def test_unacknowledged_incidents_are_left_out_of_time_to_acknowledge() -> None:
    facts = [
        incident(at(2), acknowledged_after=timedelta(minutes=6)),
        incident(at(3), detected_after=timedelta(minutes=1)),
        incident(at(4)),
    ]
    assert time_to_acknowledge(facts) == Spread(1, timedelta(minutes=6), timedelta(minutes=6))


def test_time_to_resolve_counts_resolved_incidents_from_their_start() -> None:
    facts = [
        incident(at(2), detected_after=timedelta(hours=1), resolved_after=timedelta(hours=1)),
        incident(at(3), resolved_after=timedelta(hours=3)),
        incident(at(4), acknowledged_after=timedelta(minutes=2)),
    ]
    assert time_to_resolve(facts) == Spread(
        count=2, median=timedelta(hours=2), p90=timedelta(hours=2, minutes=48)
    )


def test_no_incidents_have_no_median() -> None:
    assert time_to_acknowledge([]) == Spread(0, None, None)
    assert time_to_resolve([incident(at(2))]) == Spread(0, None, None)


# Counts per week and per month.


def test_every_week_is_listed_from_monday_including_quiet_ones() -> None:
    facts = [
        incident(at(2), severity="SEV1"),
        incident(at(4), severity="SEV3"),
        incident(at(19), severity="SEV3"),
    ]
    weeks = counts_by_period(facts, "week", ZoneInfo("UTC"), date(2026, 11, 2), date(2026, 11, 29))
    assert weeks == [
        PeriodCount(date(2026, 11, 2), "2 Nov", severities(sev1=1, sev3=1)),
        PeriodCount(date(2026, 11, 9), "9 Nov", severities()),
        PeriodCount(date(2026, 11, 16), "16 Nov", severities(sev3=1)),
        PeriodCount(date(2026, 11, 23), "23 Nov", severities()),
    ]


def test_a_range_starting_midweek_is_widened_to_whole_weeks() -> None:
    facts = [incident(at(2)), incident(at(8, 23))]
    weeks = counts_by_period(facts, "week", ZoneInfo("UTC"), date(2026, 11, 4), date(2026, 11, 9))
    assert [(w.start, w.total) for w in weeks] == [(date(2026, 11, 2), 2), (date(2026, 11, 9), 0)]


def test_an_incident_counts_in_the_week_of_its_local_day() -> None:
    late_sunday_utc = [incident(at(29, 23, 30), severity="SEV1")]
    start, end = date(2026, 11, 23), date(2026, 12, 6)

    in_utc = counts_by_period(late_sunday_utc, "week", ZoneInfo("UTC"), start, end)
    in_tokyo = counts_by_period(late_sunday_utc, "week", TOKYO, start, end)

    assert [w.by_severity["SEV1"] for w in in_utc] == [1, 0]
    assert [w.by_severity["SEV1"] for w in in_tokyo] == [0, 1]


def test_months_are_calendar_months_in_the_zone_across_a_new_year() -> None:
    halloween_night_in_new_york = datetime(2026, 10, 31, 23, 30, tzinfo=NEW_YORK)
    facts = [incident(halloween_night_in_new_york, severity="SEV4")]
    start, end = date(2026, 9, 15), date(2027, 1, 10)

    in_new_york = counts_by_period(facts, "month", NEW_YORK, start, end)
    in_utc = counts_by_period(facts, "month", ZoneInfo("UTC"), start, end)

    assert [(m.start, m.label, m.total) for m in in_new_york] == [
        (date(2026, 9, 1), "Sep 2026", 0),
        (date(2026, 10, 1), "Oct 2026", 1),
        (date(2026, 11, 1), "Nov 2026", 0),
        (date(2026, 12, 1), "Dec 2026", 0),
        (date(2027, 1, 1), "Jan 2027", 0),
    ]
    assert [m.total for m in in_utc] == [0, 0, 1, 0, 0]


def test_incidents_outside_the_range_are_not_counted() -> None:
    facts = [incident(at(1, month=10)), incident(at(2)), incident(at(1, month=12))]
    [november] = counts_by_period(
        facts, "month", ZoneInfo("UTC"), date(2026, 11, 1), date(2026, 11, 30)
    )
    assert november.by_severity == severities(sev2=1)


def test_counts_refuse_a_range_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="after end"):
        counts_by_period([], "week", TOKYO, date(2026, 11, 9), date(2026, 11, 2))


# Load per shift and post-mortems.


def test_incidents_per_shift_averages_over_all_shifts_and_names_the_busiest() -> None:
    facts = [
        incident(at(2, 10), shift_start=MONDAY_SHIFT),
        incident(at(2, 14), shift_start=MONDAY_SHIFT),
        incident(at(3, 8), shift_start=MONDAY_SHIFT),
        incident(at(3, 10), shift_start=TUESDAY_SHIFT),
        incident(at(5, 10), shift_start=None),
    ]
    assert incidents_per_shift(facts, shifts=4) == ShiftLoad(
        shifts=4, incidents=5, average=1.25, busiest=3
    )


def test_a_quiet_period_has_an_average_of_zero() -> None:
    assert incidents_per_shift([], shifts=7) == ShiftLoad(7, 0, 0.0, 0)


def test_no_shifts_means_no_average() -> None:
    assert incidents_per_shift([], shifts=0) == ShiftLoad(0, 0, None, 0)


def test_postmortem_completion_counts_published_among_owed() -> None:
    facts = [
        incident(at(2), needs_postmortem=True, postmortem_published=True),
        incident(at(3), needs_postmortem=True, postmortem_published=True),
        incident(at(4), needs_postmortem=True),
        incident(at(5), postmortem_published=True),
        incident(at(6)),
    ]
    assert postmortem_completion(facts) == Completion(owed=3, published=2, ratio=2 / 3)


def test_completion_ratio_is_none_when_nothing_is_owed() -> None:
    assert postmortem_completion([incident(at(2))]) == Completion(0, 0, None)


# The chart.

WEEKS = [
    PeriodCount(date(2026, 11, 2), "2 Nov", severities(sev1=1, sev3=2)),
    PeriodCount(date(2026, 11, 9), "9 Nov", severities()),
    PeriodCount(date(2026, 11, 16), "16 Nov", severities(sev2=4, sev4=1)),
]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if "bar" in r.get("class", "").split()]


def test_the_chart_is_svg_labelled_by_its_title_and_description() -> None:
    svg = bar_chart("Incidents per week", WEEKS)
    root = parse(svg)

    assert isinstance(svg, SafeString)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Incidents per week"
    assert desc is not None
    assert desc.text == (
        "Incidents by severity, 2 Nov to 16 Nov: 8 in total (SEV1 1, SEV2 4, SEV3 2, SEV4 1). "
        "Busiest: 16 Nov with 5."
    )
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_each_non_zero_severity_of_each_week_is_one_bar_with_its_class() -> None:
    root = parse(bar_chart("Incidents per week", WEEKS))
    assert [r.get("class") for r in bars(root)] == [
        "bar sev1",
        "bar sev3",
        "bar sev2",
        "bar sev4",
    ]


def test_stacked_segments_are_as_tall_as_their_counts() -> None:
    root = parse(bar_chart("Incidents per week", WEEKS))
    heights = [float(r.get("height", "0")) for r in bars(root)]
    sev1, sev3, sev2, _ = heights
    assert sev3 == pytest.approx(2 * sev1, abs=0.02)
    assert sev2 == pytest.approx(4 * sev1, abs=0.02)


def test_the_y_axis_ticks_are_round_numbers() -> None:
    weeks = [PeriodCount(date(2026, 11, 2), "2 Nov", severities(sev2=7))]
    root = parse(bar_chart("Incidents per week", weeks))
    axis = next(g for g in root.iter(f"{SVG}g") if "y-axis" in g.get("class", ""))
    assert [t.text for t in axis.iter(f"{SVG}text")] == ["0", "2", "4", "6", "8"]


def test_x_labels_are_thinned_so_a_year_of_weeks_does_not_overlap() -> None:
    year = [
        PeriodCount(date(2026, 1, 5) + timedelta(weeks=i), f"{i + 1} Jan", severities(sev3=1))
        for i in range(52)
    ]
    root = parse(bar_chart("A year", year))
    axis = next(g for g in root.iter(f"{SVG}g") if "x-axis" in g.get("class", ""))
    xs = [float(t.get("x", "0")) for t in axis.iter(f"{SVG}text")]
    assert 2 <= len(xs) < 52
    # A six-character label is about 40px wide at 11px.
    assert min(b - a for a, b in pairwise(xs)) >= 40


def test_the_legend_names_every_series() -> None:
    root = parse(bar_chart("Incidents per week", WEEKS))
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["SEV1", "SEV2", "SEV3", "SEV4"]


def test_a_title_with_markup_is_escaped() -> None:
    svg = bar_chart('Outages <&> "drills"', WEEKS)
    title = parse(svg).find(f"{SVG}title")
    assert title is not None and title.text == 'Outages <&> "drills"'
    assert "<&>" not in svg


@pytest.mark.parametrize("periods", [WEEKS, []], ids=["with data", "empty"])
def test_the_chart_has_no_script_inline_style_or_event_handlers(
    periods: list[PeriodCount],
) -> None:
    svg = bar_chart("Incidents per week", periods)
    assert "<script" not in svg
    assert "style=" not in svg
    assert not re.search(r"\son\w*\s*=", svg)
    for element in parse(svg).iter():
        assert not [name for name in element.attrib if name.lower().startswith(("on", "style"))]


@pytest.mark.parametrize(
    "periods",
    [[], [PeriodCount(date(2026, 11, 2), "2 Nov", severities())]],
    ids=["no periods", "only quiet weeks"],
)
def test_no_incidents_says_so_instead_of_drawing_bars(periods: list[PeriodCount]) -> None:
    root = parse(bar_chart("Incidents per week", periods))
    assert bars(root) == []
    assert [t.text for t in root.iter(f"{SVG}text")] == ["No incidents in this period"]
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text == "No incidents in this period."
