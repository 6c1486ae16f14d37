"""The yearly impact report as one self-contained HTML page (``GET /v1/impact/report/{year}``).

``report_html`` turns the figures of ``app.services.impact.report`` into the page: the
templates under ``app/render/templates/report/`` hold the markup, this module decides what
each cell says (Norwegian number notation, the marks for suppressed and not-applicable
cells, the labels and descriptions of the charts) and draws the charts (``app.render.svg``).

The page is plain HTML and SVG with its CSS inline: no script, no external fonts, styles or
images, so it can be archived as it is and prints to A4 (``@page``) in black and white. A
suppressed value is printed as ``•`` and never as a number (the service has already removed
it); a dash means there is nothing to compute (a share without a denominator). The language
is Norwegian bokmål (``lang="nb"``); the catalogue's definitions are English and marked
``lang="en"``.

**Templates.** One Environment for the package: autoescape on, ``StrictUndefined``. Every
value is escaped as ``html.escape`` does (``&quot;``, ``&#x27;``: the page's bytes stay those
it always had); markup built here (the SVG charts) comes in as ``Markup``. Templates whose
name starts with ``_`` hold macros written over several indented lines for reading: a line
break with the indentation after it is dropped when such a template loads, so their output
is one line per section, as the page has always been.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from markupsafe import Markup

from app.render.svg import (
    SUPPRESSED,
    Bar,
    Point,
    YearPoint,
    month_chart,
    ranked_bars,
    target_chart,
)
from app.repositories.impact.report import LedgerHead, LoadedDataset
from app.services.impact.catalogue import BY_ID, INDICATORS, Indicator
from app.services.impact.frameworks import frameworks
from app.services.impact.periods import NORWAY
from app.services.impact.query import Change, Row
from app.services.impact.report import (
    COMPARED,
    TOP_CATEGORIES,
    IndicatorFigures,
    PlaceComparison,
    TargetFigures,
    YearlyReport,
)
from app.services.impact.suppression import MIN_HOUSEHOLDS, MIN_RECORDS

NDASH = "\u2013"
NOT_APPLICABLE = NDASH
MINUS = "\u2212"
NBSP = "\u00a0"
TOP_N = 10

MONTHS_NB = ("jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des")
MONTH_NAMES_NB = (
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
)


@dataclass(frozen=True, slots=True)
class Subgoal:
    id: str
    name: str
    intro: str


SUBGOALS = (
    Subgoal(
        "SG1",
        "Gjenbruk og reparasjon",
        "Ting og materialer som gis bort, selges videre eller repareres, og hva det sparer "
        "av avfall og utslipp.",
    ),
    Subgoal("SG2", "Deling", "Gjenstander som lånes ut og leies ut, og hvor mye de blir brukt."),
    Subgoal(
        "SG3",
        "Deling mellom virksomheter",
        "Overskuddsmaterialer, overskuddsenergi og lokaler som virksomheter deler.",
    ),
)

GRADE_NOTE = (
    "Alle grader er tatt med: bekreftet (begge parter, eller opprettholdt av en moderator), "
    "rapportert (én part) og importert (publiserte ORDS-data). Kolonnen «herav bekreftet» "
    "viser bare bekreftede poster."
)


@dataclass(frozen=True, slots=True)
class Attribution:
    what: str
    licence: str
    text: str  # as data/README.md asks it to be shown
    links: tuple[tuple[str, str], ...]


_CC_BY = ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/")
_CC_BY_SA = ("CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/")

# By the name in reference_datasets (app.services.reference_data); the texts are those of
# data/README.md, "Attribution" (a test keeps them equal).
ATTRIBUTIONS: dict[str, Attribution] = {
    "geography_2024": Attribution(
        what="Kommune- og fylkesgrenser, 2024-inndelingen (kommuner_2024.geojson, "
        "fylker_2024.geojson)",
        licence="CC BY 4.0 (© Kartverket)",
        text="Kommune- og fylkesgrenser © Kartverket (CC BY 4.0), forenklet via "
        "robhop/fylker-og-kommuner",
        links=(("Kartverket", "https://www.kartverket.no/"), _CC_BY),
    ),
    "kommune_population": Attribution(
        what="Folketall per kommune 1. januar 2024 (kommune_population.csv)",
        licence="CC BY 4.0 (Statistisk sentralbyrå, SSB)",
        text="Folketal: Statistisk sentralbyrå (SSB), statistikkbanken tabell 07459 (CC BY 4.0)",
        links=(("SSB tabell 07459", "https://www.ssb.no/statbank/table/07459"), _CC_BY),
    ),
    "reuse_factors": Attribution(
        what="Gjennomsnittlig vekt og CO2e før bruk per produktkategori (reuse_factors.csv)",
        licence="CC BY-SA 4.0 (The Restart Project)",
        text="Reuse factors: The Restart Project, environmental-impact-data, Fixometer LCA "
        "data 2021 (CC BY-SA 4.0)",
        links=(
            (
                "TheRestartProject/environmental-impact-data",
                "https://github.com/TheRestartProject/environmental-impact-data",
            ),
            _CC_BY_SA,
        ),
    ),
    "ords_categories": Attribution(
        what="Produktkategoriene i Open Repair Data Standard v0.3 (ords_product_categories.csv)",
        licence="CC BY-SA 4.0 (Open Repair Alliance)",
        text="Open Repair Data Standard v0.3 product categories: Open Repair Alliance "
        "(CC BY-SA 4.0)",
        links=(
            ("Open Repair Data Standard", "https://openrepair.org/open-data/open-standard/"),
            _CC_BY_SA,
        ),
    ),
    "ewc_codes": Attribution(
        what="EUs avfallsliste (European List of Waste, EWC-koder) med kapitler "
        "(ewc_codes.csv, ewc_chapters.csv)",
        licence="OGL v3.0 (Defra) + © EU (Decision 2011/833/EU)",
        text="Contains public sector information licensed under the Open Government Licence "
        "v3.0 (Defra, waste-movement-utils). List of waste: Commission Decision 2000/532/EC "
        "as amended by Decision 2014/955/EU. © European Union, reused under Commission "
        "Decision 2011/833/EU.",
        links=(
            (
                "Open Government Licence v3.0",
                "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            ),
            ("Decision 2000/532/EC", "https://eur-lex.europa.eu/eli/dec/2000/532/oj"),
        ),
    ),
    "categories": Attribution(
        what="Sirkels kategoritre og koblingen til de to listene over (categories.csv)",
        licence="Sirkels egen",
        text="Sirkels egen kategorisering; den navngir kategoriene i de to CC BY-SA-listene, "
        "men kopierer ingen av dataene deres.",
        links=(),
    ),
}


# ------------------------------------------------------------------------------ formatting


def number(value: Decimal, decimals: int, *, signed: bool = False) -> str:
    """Norwegian notation: no-break space between thousands, decimal comma, a real minus."""
    text = f"{abs(value):,.{decimals}f}".replace(",", NBSP).replace(".", ",")
    if value < 0:
        return MINUS + text
    return ("+" + text) if signed and value > 0 else text


def short(value: Decimal) -> str:
    """A compact label for a bar: fewer decimals as the number grows."""
    magnitude = abs(value)
    decimals = 0 if magnitude >= 100 or value == value.to_integral_value() else 1
    if magnitude < 10 and decimals:
        decimals = 2
    text = number(value, decimals)
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return text


def percent(relative: Decimal) -> str:
    return number(relative * 100, 1, signed=True) + f"{NBSP}%"


def when(t: datetime) -> str:
    local = t.astimezone(NORWAY)
    return f"{local:%d.%m.%Y} kl. {local:%H:%M}"


def dom_id(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)


_UNITS_NB = {
    "count": "antall",
    "item-days": "gjenstandsdøgn",
    "m²·days": "m²·døgn",
    "per 1,000 inhabitants": "per 1 000 innbyggere",
}


def unit(ind: Indicator) -> str:
    return _UNITS_NB.get(ind.unit, ind.unit)


def display(row: Row | None, ind: Indicator) -> tuple[Decimal | None, str]:
    """The value to draw and the text to print for a cell: a suppressed one is "•", one
    without a value a dash, a cell nobody counted anything in 0."""
    if row is not None and row.suppressed:
        return None, SUPPRESSED
    if row is None or (row.value is None and row.records == 0):
        # Nothing counted: zero, except for a share, which has no denominator.
        if ind.is_share:
            return None, NOT_APPLICABLE
        zero = Decimal(0)
        return zero, number(zero, ind.decimals)
    if row.value is None:
        return None, NOT_APPLICABLE
    return row.value, number(row.value, ind.decimals)


def change_text(
    change: Change | None, current: Row | None, before: Row | None, ind: Indicator
) -> tuple[str, str]:
    """(absolute, relative) change as printed."""
    if change is None:
        return NOT_APPLICABLE, NOT_APPLICABLE
    if (current is not None and current.suppressed) or (before is not None and before.suppressed):
        return SUPPRESSED, SUPPRESSED
    if change.absolute is None:
        return NOT_APPLICABLE, NOT_APPLICABLE
    relative = percent(change.relative) if change.relative is not None else NOT_APPLICABLE
    return number(change.absolute, ind.decimals, signed=True), relative


def place_name(report: YearlyReport) -> str:
    area = report.area
    if area.kind == "kommune":
        return f"{area.name} kommune ({area.number})"
    if area.kind == "fylke":
        return f"{area.name} fylke ({area.number})"
    return "Hele Norge"


def category_label(slug: str | None, names: dict[str, str]) -> str:
    if not slug:
        return "Uten kategori"
    if slug.startswith("ewc-"):
        return f"Avfallskapittel {slug[4:]}"
    return names.get(slug, slug)


def place_label(key: str | None, places: PlaceComparison) -> str:
    if not key:
        return "Uten kommune" if places.dimension == "kommune" else "Uten fylke"
    return places.names.get(key, key)


def places_heading(report: YearlyReport) -> str:
    if report.places is not None and report.places.dimension == "kommune":
        return f"Kommunene i {place_name(report)} sammenlignet"
    return "Fylkene sammenlignet"


# ------------------------------------------------------------------------------ the views


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """One indicator's row of the main table, as printed."""

    name: str
    unit: str
    value: str
    confirmed: str
    year_before: str
    absolute: str
    relative: str


def summary_lines(report: YearlyReport, subgoal: Subgoal) -> list[SummaryLine]:
    lines = []
    for ind in (i for i in INDICATORS if i.subgoal == subgoal.id):
        row = report.yearly.get(ind.id)
        _, value = display(row, ind)
        _, confirmed = display(report.confirmed.get(ind.id), ind)
        if report.yearly_year_before is not None:
            before_row = report.yearly_year_before.get(ind.id)
            _, last = display(before_row, ind)
            absolute, relative = change_text(
                row.baseline if row is not None else None, row, before_row, ind
            )
        else:
            last = absolute = relative = NOT_APPLICABLE
        lines.append(
            SummaryLine(ind.name_nb, unit(ind), value, confirmed, last, absolute, relative)
        )
    return lines


@dataclass(frozen=True, slots=True)
class MonthFigure:
    """One indicator by month: its chart and the small table under it."""

    chart_id: str
    name: str
    unit: str
    total: str
    svg: Markup
    halves: tuple[list[tuple[str, str | None]], ...]  # (month, text; None: not yet)


def _month_points(report: YearlyReport, ind: Indicator) -> list[Point]:
    points = []
    for m in range(1, 13):
        row = report.monthly.get(ind.id, f"{report.year:04d}-{m:02d}")
        compare: Decimal | None = None
        if report.monthly_year_before is not None:
            before = report.monthly_year_before.get(ind.id, f"{report.year - 1:04d}-{m:02d}")
            compare, _ = display(before, ind)
        if row is None and m > report.last_month:
            points.append(Point(label=MONTHS_NB[m - 1], value=None, compare=compare, future=True))
            continue
        value, text = display(row, ind)
        points.append(
            Point(
                label=MONTHS_NB[m - 1],
                value=value,
                text=short(value) if value is not None else "",
                mark="" if value is not None else text,
                compare=compare,
            )
        )
    return points


def _point_text(p: Point, ind: Indicator) -> str:
    return number(p.value, ind.decimals) if p.value is not None else p.mark


def month_figures(report: YearlyReport, subgoal: Subgoal) -> list[MonthFigure]:
    figures = []
    for ind in (i for i in INDICATORS if i.subgoal == subgoal.id):
        points = _month_points(report, ind)
        chart_id = dom_id("m", ind.id)
        described = []
        for p in points:
            shown = "ikke ennå" if p.future else _point_text(p, ind)
            if p.compare is not None:
                shown += f" (i fjor {number(p.compare, ind.decimals)})"
            described.append(f"{p.label}: {shown}")
        desc = f"{ind.name_nb} per måned i {report.year}, {unit(ind)}. {'; '.join(described)}."
        svg = month_chart(
            chart_id,
            title=f"{ind.name_nb}, {report.year}",
            desc=desc,
            points=points,
            unit=unit(ind),
            kind="line" if ind.is_share or ind.per_1000 else "bar",
        )
        figures.append(
            MonthFigure(
                chart_id=chart_id,
                name=ind.name_nb,
                unit=unit(ind),
                total=display(report.yearly.get(ind.id), ind)[1],
                svg=Markup(svg),  # app.render.svg escapes every text it draws
                halves=tuple(
                    [(p.label, None if p.future else _point_text(p, ind)) for p in half]
                    for half in (points[:6], points[6:])
                ),
            )
        )
    return figures


@dataclass(frozen=True, slots=True)
class Ranked:
    key: str
    value: Decimal | None
    text: str


def _ranked(keyed: list[tuple[str, Row | None]], ind: Indicator) -> list[Ranked]:
    """Ranked: largest first; then suppressed; then without a value."""
    out = [Ranked(key, *display(row, ind)) for key, row in keyed]
    return sorted(
        out,
        key=lambda t: (
            0 if t.value is not None else (1 if t.text == SUPPRESSED else 2),
            -(t.value or 0),
            t.key,
        ),
    )


@dataclass(frozen=True, slots=True)
class RankedFigure:
    """One indicator's ranked bars (places or categories)."""

    chart_id: str
    name: str
    unit: str
    svg: Markup | None  # None: nothing to draw
    hidden: int  # not shown (kommuner without records, categories past the top)


@dataclass(frozen=True, slots=True)
class PlaceLine:
    key: str
    label: str
    cells: list[str]


@dataclass(frozen=True, slots=True)
class PlacesView:
    heading: str
    dimension: str
    columns: list[str]
    figures: list[RankedFigure]
    lines: list[PlaceLine]


def places_view(report: YearlyReport) -> PlacesView | None:
    places = report.places
    if places is None:
        return None
    keys: list[str] = list(places.names)
    # Records without a place are their own line (they count in the total).
    extra = sorted(
        {k or "" for i in COMPARED for k, _ in places.figures.keyed(i) if (k or "") not in keys}
    )
    every = [*keys, *extra]
    figures = []
    for ind in (BY_ID[i] for i in COMPARED):
        ranked = _ranked([(k, places.figures.get(ind.id, k or None)) for k in every], ind)
        hidden = 0
        if places.dimension == "kommune":
            # Many kommuner: only those where something was counted.
            shown = [t for t in ranked if t.value is None or t.value != 0]
            hidden = len(ranked) - len(shown)
            ranked = shown
        bars = [
            Bar(
                label=place_label(t.key or None, places),
                value=t.value,
                text=short(t.value) if t.value is not None else "",
                mark="" if t.value is not None else t.text,
            )
            for t in ranked
        ]
        chart_id = dom_id("p", ind.id)
        desc = "; ".join(f"{b.label}: {b.text or b.mark}" for b in bars) or "ingen verdier"
        drawn = any(b.value or b.mark == SUPPRESSED for b in bars)
        svg = ranked_bars(
            chart_id,
            title=f"{ind.name_nb} {report.year}, rangert",
            desc=f"{ind.name_nb} {report.year} ({unit(ind)}), rangert: {desc}.",
            bars=bars,
            unit=unit(ind),
        )
        figures.append(
            RankedFigure(
                chart_id=chart_id,
                name=ind.name_nb,
                unit=unit(ind),
                svg=Markup(svg) if drawn else None,  # escaped by app.render.svg
                hidden=hidden,
            )
        )
    # Every value of a column comes from the same aggregate; rows in number order.
    lines = [
        PlaceLine(
            key=k,
            label=place_label(k or None, places),
            cells=[display(places.figures.get(i, k or None), BY_ID[i])[1] for i in COMPARED],
        )
        for k in every
    ]
    return PlacesView(
        heading=places_heading(report),
        dimension=places.dimension,
        columns=[BY_ID[i].name_nb for i in COMPARED],
        figures=figures,
        lines=lines,
    )


@dataclass(frozen=True, slots=True)
class CategoryLine:
    rank: int
    slug: str
    label: str
    value: str
    change: str


@dataclass(frozen=True, slots=True)
class CategoriesFigure:
    figure: RankedFigure
    lines: list[CategoryLine]
    suppressed: str  # the suppressed categories' names, or ""


def categories_figures(report: YearlyReport) -> list[CategoriesFigure]:
    out = []
    names = report.category_names
    for ind in (BY_ID[i] for i in TOP_CATEGORIES):
        keyed = report.categories.keyed(ind.id)
        shown = sorted(
            ((k, row) for k, row in keyed if not row.suppressed and row.value is not None),
            key=lambda t: (-(t[1].value or 0), t[0] or ""),
        )[:TOP_N]
        suppressed = sorted(category_label(k, names) for k, row in keyed if row.suppressed)
        bars = [
            Bar(label=category_label(k, names), value=row.value, text=short(row.value))
            for k, row in shown
            if row.value is not None
        ]
        chart_id = dom_id("k", ind.id)
        listed = "; ".join(f"{b.label}: {b.text}" for b in bars)
        svg = (
            ranked_bars(
                chart_id,
                title=f"Toppkategorier: {ind.name_nb} {report.year}",
                desc=f"De {len(bars)} største kategoriene for {ind.name_nb} {report.year}: "
                f"{listed}.",
                bars=bars,
                unit=unit(ind),
                label_width=190,
            )
            if bars
            else None
        )
        lines = [
            CategoryLine(
                rank=rank,
                slug=k or "",
                label=category_label(k, names),
                value=display(row, ind)[1],
                change=percent(row.previous.relative)
                if row.previous is not None and row.previous.relative is not None
                else NOT_APPLICABLE,
            )
            for rank, (k, row) in enumerate(shown, start=1)
        ]
        figure = RankedFigure(
            chart_id=chart_id,
            name=ind.name_nb,
            unit=unit(ind),
            svg=Markup(svg) if svg is not None else None,  # escaped by app.render.svg
            hidden=len(keyed) - len(shown) - len(suppressed),
        )
        out.append(CategoriesFigure(figure, lines, ", ".join(suppressed)))
    return out


@dataclass(frozen=True, slots=True)
class DatasetLine:
    dataset: LoadedDataset
    attribution: Attribution


def dataset_lines(report: YearlyReport) -> list[DatasetLine]:
    unknown = Attribution(what="", licence="se data/README.md", text="", links=())
    return [
        DatasetLine(ds, ATTRIBUTIONS.get(ds.name) or replace(unknown, what=ds.name))
        for ds in report.datasets
    ]


def period_text(report: YearlyReport) -> str:
    if report.last_month == 12:
        return f"januar{NDASH}desember {report.year}"
    if report.last_month:
        month = MONTH_NAMES_NB[report.last_month - 1]
        return f"januar {report.year} til og med {month} {report.year} (året pågår)"
    return f"{report.year} (året har ikke begynt)"


TARGET_STATUS_NB = {"adopted": "vedtatt", "recommended": "anbefalt", "proposed": "foreslått"}
PROGRESS_NB = {
    "on_track": "i rute",
    "ahead": "foran banen",
    "behind": "bak banen",
    "insufficient_data": "for lite data",
}
PATH_NB = {"linear": "lineær", "annual_growth": "lik årlig vekst"}


@dataclass(frozen=True, slots=True)
class TargetYearLine:
    year: str  # "2026 (hittil)" for the year under way
    actual: str
    expected: str
    gap: str


@dataclass(frozen=True, slots=True)
class TargetView:
    chart_id: str
    name: str
    unit: str
    status: str  # vedtatt, anbefalt, foreslått
    goal: str  # what the target says, in words
    path: str
    progress: str  # i rute, …
    growth: str | None  # the yearly growth still needed, as printed
    decided: str | None
    reference: str | None
    reference_url: str | None
    note: str | None
    svg: Markup
    lines: list[TargetYearLine]


def _amount(value: Decimal, ind: Indicator) -> str:
    """A value with its unit, except a count's ("16", "2,5 t")."""
    text = number(value, ind.decimals)
    return text if ind.unit == "count" else f"{text} {unit(ind)}"


def _path_number(value: Decimal, ind: Indicator, *, signed: bool = False) -> str:
    """A path's value or a gap: one decimal more than the indicator's, no trailing zeros (a
    path between whole counts passes halves: 11,5 and +0,5 rather than 12 and +0)."""
    text = number(value, ind.decimals + 1, signed=signed)
    return text.rstrip("0").rstrip(",") if "," in text else text


def _target_goal(figures: TargetFigures, ind: Indicator) -> str:
    target, goal = figures.target, figures.progress.target_value
    if target.target_change_pct is not None:
        change = number(target.target_change_pct, 1, signed=True).removesuffix(",0")
        text = f"{change}{NBSP}% fra {target.baseline_year} til {target.target_year}"
        return f"{text} ({_amount(goal, ind)})" if goal is not None else text
    assert target.target_value is not None
    value = _amount(target.target_value, ind)
    return f"{value} i {target.target_year} (fra {target.baseline_year})"


def target_views(report: YearlyReport) -> list[TargetView]:
    """Each target of the area: what it says, its path and the actual values through the
    report's year as a chart and a table, and how it stands."""
    views = []
    for i, figures in enumerate(report.targets):
        target, progress = figures.target, figures.progress
        ind = BY_ID[target.indicator]
        actual = {y.year: y for y in progress.years}
        points = [
            YearPoint(
                year=p.year,
                expected=p.expected,
                actual=actual[p.year].actual if p.year in actual else None,
                mark=SUPPRESSED if p.year in actual and actual[p.year].suppressed else "",
                partial=p.year in actual and not actual[p.year].complete,
            )
            for p in progress.path
        ]
        lines = []
        for y in progress.years:
            shown = number(y.actual, ind.decimals) if y.actual is not None else NOT_APPLICABLE
            lines.append(
                TargetYearLine(
                    year=str(y.year) if y.complete else f"{y.year} (hittil)",
                    actual=SUPPRESSED if y.suppressed else shown,
                    expected=(
                        _path_number(y.expected, ind) if y.expected is not None else NOT_APPLICABLE
                    ),
                    gap=(
                        _path_number(y.gap, ind, signed=True)
                        if y.gap is not None
                        else NOT_APPLICABLE
                    ),
                )
            )
        goal = _target_goal(figures, ind)
        described = "; ".join(
            f"{y.year}: {line.actual} (banen {line.expected})"
            for y, line in zip(progress.years, lines, strict=True)
        )
        chart_id = dom_id("target", str(i + 1), ind.id)
        svg = (
            target_chart(
                chart_id,
                title=f"{ind.name_nb}: måltall og utvikling",
                desc=f"Mål: {goal}. Faktiske verdier: {described or 'ingen ennå'}.",
                years=points,
                target=progress.target_value,
                target_text=(
                    f"mål {short(progress.target_value)}"
                    if progress.target_value is not None
                    else ""
                ),
                unit=unit(ind),
            )
            if points
            else ""
        )
        growth = progress.required_annual_growth_pct
        reference = target.reference_title
        if reference is not None and target.reference_date is not None:
            reference += f", {target.reference_date:%d.%m.%Y}"
        views.append(
            TargetView(
                chart_id=chart_id,
                name=ind.name_nb,
                unit=unit(ind),
                status=TARGET_STATUS_NB[target.status.value],
                goal=goal,
                path=PATH_NB[target.path.value],
                progress=PROGRESS_NB[progress.status or "insufficient_data"],
                growth=(number(growth, 1, signed=True) + f"{NBSP}%")
                if growth is not None
                else None,
                decided=target.decided_by,
                reference=reference,
                reference_url=target.reference_url,
                note=target.note,
                svg=Markup(svg),
                lines=lines,
            )
        )
    return views


RELATION_NB = {"direct": "direkte", "partial": "delvis", "context": "kontekst"}
FRAMEWORK_LABELS = {
    "sdg": "SDG",
    "eu_cemf": "EU CEMF",
    "eu_reuse_2021_19": "EU 2021/19",
    "ssb": "SSB",
}


@dataclass(frozen=True, slots=True)
class FrameworkLine:
    label: str  # "SDG 12.5.1"
    relation: str
    note: str


def framework_links() -> dict[str, list[FrameworkLine]]:
    """By catalogue indicator: the framework indicators it informs, as the method lists them."""
    mapping = frameworks()
    return {
        ind.id: [
            FrameworkLine(
                label=f"{FRAMEWORK_LABELS.get(m.framework, m.framework)} {other.id}",
                relation=RELATION_NB[m.relation],
                note=m.note,
            )
            for m, other in mapping.for_indicator(ind.id)
        ]
        for ind in INDICATORS
    }


def later_head(report: YearlyReport) -> LedgerHead | None:
    """The ledger's head now, when records were added after the year's head."""
    now, at_end = report.head_now, report.head_at_year_end
    if now is not None and (at_end is None or now.seq != at_end.seq):
        return now
    return None


# ------------------------------------------------------------------------------ templates


class _JoinIndentedLines(Extension):
    """In templates named ``_*``: a line break and the indentation after it are dropped."""

    def preprocess(
        self,
        source: str,
        name: str | None,
        filename: str | None = None,  # noqa: ARG002 - Jinja's signature
    ) -> str:
        if name is not None and name.rsplit("/", 1)[-1].startswith("_"):
            return re.sub(r"\n[ \t]*", "", source)
        return source


def _escaped(value: object) -> Markup:
    """Every value as ``html.escape`` writes it; markup built here passes as it is."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


TEMPLATES = Environment(
    loader=PackageLoader("app.render", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    finalize=_escaped,
    trim_blocks=True,
    keep_trailing_newline=True,
    extensions=[_JoinIndentedLines],
)
TEMPLATES.filters.update(number=number, when=when, unit=unit, percent=percent)
TEMPLATES.globals.update(
    SUPPRESSED=SUPPRESSED,
    NOT_APPLICABLE=NOT_APPLICABLE,
    NDASH=NDASH,
    MIN_RECORDS=MIN_RECORDS,
    MIN_HOUSEHOLDS=MIN_HOUSEHOLDS,
    GRADE_NOTE=GRADE_NOTE,
    SUBGOALS=SUBGOALS,
    INDICATORS=INDICATORS,
    TOP_N=TOP_N,
)


def _sections(report: YearlyReport, places: PlacesView | None) -> Sequence[tuple[str, str]]:
    sections = [("hovedtall", f"Hovedtall og endring fra {report.year - 1}")]
    if report.targets:
        sections.append(("maltall", "Måltall"))
    sections.extend((sg.id.lower(), f"{sg.id} {sg.name}") for sg in SUBGOALS)
    if places is not None:
        sections.append(("steder", places.heading))
    return [*sections, ("kategorier", "Toppkategorier"), ("metode", "Metode")]


def report_html(report: YearlyReport) -> str:
    """The complete HTML document of the yearly report."""
    place = place_name(report)
    places = places_view(report)
    return TEMPLATES.get_template("report/page.html").render(
        report=report,
        title=f"Sirkel {NDASH} årsrapport {report.year}: {place}",
        place=place,
        period=period_text(report),
        toc=_sections(report, places),
        summary={sg.id: summary_lines(report, sg) for sg in SUBGOALS},
        targets=target_views(report),
        months={sg.id: month_figures(report, sg) for sg in SUBGOALS},
        places=places,
        categories=categories_figures(report),
        datasets=dataset_lines(report),
        later_head=later_head(report),
        links=framework_links(),
    )


__all__ = ["ATTRIBUTIONS", "NOT_APPLICABLE", "IndicatorFigures", "number", "report_html"]
