"""The yearly impact report: ``GET /v1/impact/report/{year}`` — one self-contained HTML page.

For the whole country, a fylke or a kommune, the page holds:

* the main figures of the year for every indicator of the catalogue, with last year's figure,
  the change, and how much of it both parties confirmed;
* one section per sub-goal (SG1, SG2, SG3) with each indicator by month as an inline SVG
  chart (last year's months as markers) and its numbers in a small table;
* the fylker compared (with a fylke given: its kommuner) for a few headline indicators;
* the top categories of reuse handovers and repairs;
* a method section: every indicator's definition, counting rule, data source and factor
  source, the suppression rule, the impact factor revisions, the reference data with their
  attributions and licences, and the evidence ledger's head at the end of the year with how
  to verify it.

**Every figure comes from the aggregate service** (``app.services.impact.query``), so the
page suppresses exactly what ``GET /v1/impact`` suppresses: a suppressed value is printed as
``•`` and never as a number (the service has already removed it from the rows). A dash means
there is nothing to compute (a share without a denominator).

The page is plain HTML and SVG with its CSS inline: no script, no external fonts, styles or
images, so it can be archived as it is and prints to A4 (``@page``) in black and white. All
text from data (names, slugs) is escaped. The language is Norwegian bokmål (``lang="nb"``);
the catalogue's definitions are English and marked ``lang="en"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidPeriodError
from app.repositories.impact.report import (
    FactorRevision,
    ImpactReportRepository,
    LedgerHead,
    LoadedDataset,
)
from app.services.impact.catalogue import BY_ID, INDICATORS, Indicator
from app.services.impact.periods import EARLIEST_YEAR, NORWAY, current_month
from app.services.impact.query import (
    MAX_INDICATORS,
    Change,
    ImpactResult,
    Row,
    aggregate,
    build_query,
)
from app.services.impact.suppression import MIN_HOUSEHOLDS, MIN_RECORDS
from app.services.impact_svg import SUPPRESSED, Bar, Point, month_chart, ranked_bars

NDASH = "\u2013"
NOT_APPLICABLE = NDASH
MINUS = "\u2212"
NBSP = "\u00a0"

MONTHS_NB = ("jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des")

SUBGOALS: tuple[tuple[str, str, str], ...] = (
    (
        "SG1",
        "Gjenbruk og reparasjon",
        "Ting og materialer som gis bort, selges videre eller repareres, og hva det sparer "
        "av avfall og utslipp.",
    ),
    (
        "SG2",
        "Deling",
        "Gjenstander som lånes ut og leies ut, og hvor mye de blir brukt.",
    ),
    (
        "SG3",
        "Deling mellom virksomheter",
        "Overskuddsmaterialer, overskuddsenergi og lokaler som virksomheter deler.",
    ),
)

# Compared between fylker (or the kommuner of a fylke): one or two per sub-goal.
COMPARED = (
    "sg1.reuse.handovers",
    "sg1.repairs.count",
    "sg1.reuse.co2e",
    "sg2.loans.per_1000",
    "sg3.materials.tonnes",
)
TOP_CATEGORIES = ("sg1.reuse.handovers", "sg1.repairs.count")
TOP_N = 10

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


# ------------------------------------------------------------------------------- gathering


@dataclass(slots=True)
class _Figures:
    """One aggregate's rows by (indicator, key of its single grouping; "" without)."""

    rows: dict[tuple[str, str | None], Row]
    population_year: int | None = None

    @classmethod
    def of(cls, results: Iterable[ImpactResult], dim: str | None) -> _Figures:
        rows: dict[tuple[str, str | None], Row] = {}
        year: int | None = None
        for result in results:
            year = result.population_year or year
            for row in result.rows:
                rows[(row.indicator, row.keys.get(dim) if dim else "")] = row
        return cls(rows=rows, population_year=year)

    def get(self, indicator: str, key: str | None = "") -> Row | None:
        return self.rows.get((indicator, key))

    def keyed(self, indicator: str) -> list[tuple[str | None, Row]]:
        return [(k, r) for (i, k), r in self.rows.items() if i == indicator]


@dataclass(slots=True)
class _Report:
    year: int
    now: datetime
    place: str
    last_month: int  # months after it have not happened yet (0: none have)
    monthly: _Figures
    monthly_before: _Figures | None
    yearly: _Figures
    yearly_before: _Figures | None
    confirmed: _Figures
    places: _Figures | None
    place_dim: str | None
    place_names: dict[str, str]
    categories: _Figures
    category_names: dict[str, str]
    revisions: list[FactorRevision]
    datasets: list[LoadedDataset]
    head_year: LedgerHead | None
    head_now: LedgerHead | None


async def render_report(
    session: AsyncSession,
    *,
    year: int,
    fylke: str | None,
    kommune: str | None,
    now: datetime,
) -> str:
    """The yearly report for ``year`` (the whole country, or one fylke or kommune) as a
    complete HTML document. Raises ``InvalidPeriodError`` for a year before 2000 or
    after next year, and the aggregate service's errors for an unknown fylke or kommune."""
    this_year = now.astimezone(NORWAY).year
    if not EARLIEST_YEAR <= year <= this_year + 1:
        raise InvalidPeriodError(
            f"The report's year is between {EARLIEST_YEAR} and {this_year + 1}."
        )
    ids = [i.id for i in INDICATORS]
    has_before = year - 1 >= EARLIEST_YEAR

    async def run(
        indicators: Sequence[str],
        group_by: list[str],
        *,
        of_year: int = year,
        evidence: Literal["confirmed", "all"] = "all",
        baseline: int | None = None,
    ) -> list[ImpactResult]:
        results = []
        # Suppression works indicator by indicator, so chunks change nothing.
        for start in range(0, len(indicators), MAX_INDICATORS):
            query = await build_query(
                session,
                indicator=list(indicators[start : start + MAX_INDICATORS]),
                group_by=group_by,
                month_from=f"{of_year:04d}-01",
                month_to=f"{of_year:04d}-12",
                evidence=evidence,
                fylke=fylke,
                kommune=kommune,
                initiative=None,
                baseline=baseline,
                now=now,
            )
            results.append(await aggregate(session, query))
        return results

    # First: it checks the fylke and the kommune.
    monthly = _Figures.of(await run(ids, ["month"]), "month")
    monthly_before = (
        _Figures.of(await run(ids, ["month"], of_year=year - 1), "month") if has_before else None
    )
    yearly = _Figures.of(await run(ids, [], baseline=year - 1 if has_before else None), None)
    yearly_before = _Figures.of(await run(ids, [], of_year=year - 1), None) if has_before else None
    confirmed = _Figures.of(await run(ids, [], evidence="confirmed"), None)
    categories = _Figures.of(await run(TOP_CATEGORIES, ["category"]), "category")

    repo = ImpactReportRepository(session)
    fylke_names = await repo.fylke_names()
    places: _Figures | None = None
    place_dim: str | None = None
    place_names: dict[str, str] = {}
    if kommune is None:
        place_dim = "kommune" if fylke is not None else "fylke"
        places = _Figures.of(await run(COMPARED, [place_dim]), place_dim)
        place_names = (
            await repo.kommune_names(fylkesnummer=fylke) if fylke is not None else fylke_names
        )
    if kommune is not None:
        names = await repo.kommune_names(fylkesnummer=kommune[:2])
        place = f"{names.get(kommune, kommune)} kommune ({kommune})"
    elif fylke is not None:
        place = f"{fylke_names.get(fylke, fylke)} fylke ({fylke})"
    else:
        place = "Hele Norge"

    current = current_month(now)
    if year < current.year:
        last_month = 12
    elif year == current.year:
        last_month = current.month
    else:
        last_month = 0
    end_of_year = datetime(year + 1, 1, 1, tzinfo=NORWAY)
    report = _Report(
        year=year,
        now=now,
        place=place,
        last_month=last_month,
        monthly=monthly,
        monthly_before=monthly_before,
        yearly=yearly,
        yearly_before=yearly_before,
        confirmed=confirmed,
        places=places,
        place_dim=place_dim,
        place_names=place_names,
        categories=categories,
        category_names=await repo.category_names(),
        revisions=await repo.factor_revisions(),
        datasets=await repo.reference_datasets(),
        head_year=await repo.ledger_head_before(end_of_year),
        head_now=await repo.ledger_head(),
    )
    return _render(report)


# ------------------------------------------------------------------------------ formatting


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def number(value: Decimal, decimals: int, *, signed: bool = False) -> str:
    """Norwegian notation: no-break space between thousands, decimal comma, a real minus."""
    text = f"{abs(value):,.{decimals}f}".replace(",", NBSP).replace(".", ",")
    if value < 0:
        return MINUS + text
    return ("+" + text) if signed and value > 0 else text


def _short(value: Decimal) -> str:
    """A compact label for a bar: fewer decimals as the number grows."""
    magnitude = abs(value)
    decimals = 0 if magnitude >= 100 or value == value.to_integral_value() else 1
    if magnitude < 10 and decimals:
        decimals = 2
    text = number(value, decimals)
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return text


def _display(row: Row | None, ind: Indicator) -> tuple[Decimal | None, str]:
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


def _change_text(
    change: Change | None, current: Row | None, before: Row | None, ind: Indicator
) -> tuple[str, str]:
    """(absolute, relative) change as printed."""
    if change is None:
        return NOT_APPLICABLE, NOT_APPLICABLE
    if (current is not None and current.suppressed) or (before is not None and before.suppressed):
        return SUPPRESSED, SUPPRESSED
    absolute = change.absolute
    if absolute is None:
        return NOT_APPLICABLE, NOT_APPLICABLE
    relative = (
        number(change.relative * 100, 1, signed=True) + f"{NBSP}%"
        if change.relative is not None
        else NOT_APPLICABLE
    )
    return number(absolute, ind.decimals, signed=True), relative


def _dom_id(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)


def _when(t: datetime) -> str:
    local = t.astimezone(NORWAY)
    return f"{local:%d.%m.%Y} kl. {local:%H:%M}"


_UNITS_NB = {
    "count": "antall",
    "item-days": "gjenstandsdøgn",
    "m²·days": "m²·døgn",
    "per 1,000 inhabitants": "per 1 000 innbyggere",
}


def _unit(ind: Indicator) -> str:
    return _UNITS_NB.get(ind.unit, ind.unit)


def _category_label(slug: str | None, names: dict[str, str]) -> str:
    if not slug:
        return "Uten kategori"
    if slug.startswith("ewc-"):
        return f"Avfallskapittel {slug[4:]}"
    return names.get(slug, slug)


def _place_label(key: str | None, names: dict[str, str], dim: str) -> str:
    if not key:
        return "Uten kommune" if dim == "kommune" else "Uten fylke"
    return names.get(key, key)


# ------------------------------------------------------------------------------- rendering


CSS = """
:root { color-scheme: light; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; box-sizing: border-box; }
html { background: #fff; }
body {
  font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
  font-size: 10pt; line-height: 1.4; color: #111; background: #fff;
  max-width: 190mm; margin: 0 auto; padding: 10mm 8mm;
}
h1 { font-size: 20pt; margin: 0 0 4pt; }
h2 { font-size: 15pt; margin: 20pt 0 6pt; padding-bottom: 2pt; border-bottom: 1.5pt solid #111; }
h3 { font-size: 11.5pt; margin: 14pt 0 4pt; }
h4 { font-size: 10pt; margin: 8pt 0 2pt; }
p { margin: 3pt 0 6pt; }
.lead { font-size: 11pt; }
.meta { color: #333; font-size: 9pt; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin: 4pt 0 8pt; }
caption { text-align: left; font-weight: bold; padding: 2pt 0; }
th, td { border-bottom: 0.5pt solid #999; padding: 2pt 4pt; text-align: left;
  vertical-align: top; }
thead th { border-bottom: 1pt solid #111; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead th.num { white-space: normal; }
tr.sub td { border-bottom: 0.75pt solid #666; padding-top: 0; font-size: 7.5pt; color: #333; }
tr.has-sub td { border-bottom: none; }
tr { break-inside: avoid; page-break-inside: avoid; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10pt 16pt; }
figure { margin: 0 0 8pt; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-size: 9pt; margin-bottom: 2pt; }
figcaption .total { display: block; color: #333; }
figure svg { display: block; width: 100%; height: auto; max-width: 100%; }
figure.wide svg { max-width: 150mm; }
table.months { font-size: 7.5pt; margin: 2pt 0 0; table-layout: fixed; }
table.months th, table.months td { padding: 1pt 2pt; text-align: center; }
table.months th { font-weight: normal; color: #333; border-bottom: 0.5pt solid #bbb; }
.legend { border: 0.75pt solid #111; padding: 4pt 6pt; font-size: 8.5pt; margin: 6pt 0; }
.legend > span { display: inline-block; margin-right: 12pt; }
.key-bar { display: inline-block; width: 10pt; height: 7pt; background: #5a5a5a;
  vertical-align: baseline; }
.key-last { display: inline-block; width: 12pt; border-top: 1.6pt dashed #111;
  vertical-align: middle; }
code, .hash { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace;
  font-size: 8.5pt; overflow-wrap: anywhere; word-break: break-all; }
.indicators { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0 14pt; }
.indicator { break-inside: avoid; page-break-inside: avoid; border-top: 0.5pt solid #999;
  padding-top: 2pt; }
dl { display: grid; grid-template-columns: 22mm 1fr; gap: 1pt 6pt; margin: 2pt 0 6pt;
  font-size: 8pt; }
dt { font-weight: bold; }
dd { margin: 0; }
nav ol { columns: 2; font-size: 9pt; }
a { color: #111; }
.note { font-size: 8.5pt; color: #333; }
.verify { border: 1pt solid #111; padding: 6pt 8pt; break-inside: avoid;
  page-break-inside: avoid; }
@page { size: A4; margin: 15mm 14mm 17mm 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  nav { display: none; }
  section.subgoal, section.method { break-before: page; page-break-before: always; }
  h2, h3, h4, figcaption { break-after: avoid; page-break-after: avoid; }
  a { text-decoration: none; }
  a[href^="http"]::after { content: " <" attr(href) ">"; font-size: 7.5pt;
    overflow-wrap: anywhere; }
}
"""


def _render(r: _Report) -> str:
    title = f"Sirkel {NDASH} årsrapport {r.year}: {r.place}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="nb">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="generator" content="Sirkel">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        _header(r, title),
        _summary(r),
        *(_subgoal(r, sg, name, intro) for sg, name, intro in SUBGOALS),
        _places(r),
        _categories(r),
        _method(r),
        '<footer><p class="note">Laget av Sirkel '
        f"{_e(_when(r.now))}. Tallene kan hentes maskinlesbart fra "
        "<code>GET /v1/impact</code> med de samme filtrene.</p></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _legend(r: _Report) -> str:
    before = (
        f'<span><span class="key-last"></span> samme måned {r.year - 1}</span>'
        if r.monthly_before is not None
        else ""
    )
    return (
        '<div class="legend" role="note">'
        f'<span><span class="key-bar"></span> {r.year}</span>{before}'
        f"<span><strong>{SUPPRESSED}</strong> skjult av personvernhensyn (færre enn "
        f"{MIN_RECORDS} poster eller færre enn {MIN_HOUSEHOLDS} husholdninger, eller skjult "
        "for at et skjult tall ikke skal kunne regnes ut)</span>"
        f"<span><strong>{NOT_APPLICABLE}</strong> ikke beregnet (ingen grunnlag)</span>"
        "</div>"
    )


def _header(r: _Report, title: str) -> str:
    if r.last_month == 12:
        period = f"januar{NDASH}desember {r.year}"
    elif r.last_month:
        period = f"januar {r.year} til og med {_month_name(r.last_month)} {r.year} (året pågår)"
    else:
        period = f"{r.year} (året har ikke begynt)"
    sections = [
        ("hovedtall", f"Hovedtall og endring fra {r.year - 1}"),
        *((sg.lower(), f"{sg} {name}") for sg, name, _ in SUBGOALS),
    ]
    if r.places is not None:
        sections.append(("steder", _places_heading(r)))
    sections += [("kategorier", "Toppkategorier"), ("metode", "Metode")]
    toc = "".join(f'<li><a href="#{_e(i)}">{_e(t)}</a></li>' for i, t in sections)
    return (
        "<header>"
        f"<h1>{_e(title)}</h1>"
        '<p class="lead">Status for samfunnsoppdraget for sirkulær økonomi: gjenbruk og '
        "reparasjon (SG1), deling (SG2) og deling mellom virksomheter (SG3), slik de er "
        "registrert i Sirkels bevislogg.</p>"
        f'<p class="meta">Område: <strong>{_e(r.place)}</strong> · Periode: {_e(period)} · '
        f"Laget {_e(_when(r.now))} (norsk tid) · Grunnlag: alle grader av bevis</p>"
        f"{_legend(r)}"
        f'<nav aria-label="Innhold"><ol>{toc}</ol></nav>'
        "</header>"
    )


_MONTH_NAMES = (
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


def _month_name(month: int) -> str:
    return _MONTH_NAMES[month - 1]


def _summary(r: _Report) -> str:
    before = r.year - 1
    head = (
        '<thead><tr><th scope="col">Indikator</th><th scope="col">Enhet</th>'
        f'<th scope="col" class="num">{r.year}</th>'
        '<th scope="col" class="num">herav bekreftet</th>'
        f'<th scope="col" class="num">{before}</th>'
        '<th scope="col" class="num">endring</th>'
        '<th scope="col" class="num">endring %</th></tr></thead>'
    )
    body = []
    for sg, name, _ in SUBGOALS:
        body.append(f'<tr><th scope="rowgroup" colspan="7">{_e(sg)} {_e(name)}</th></tr>')
        for ind in (i for i in INDICATORS if i.subgoal == sg):
            row = r.yearly.get(ind.id)
            _, value = _display(row, ind)
            _, confirmed = _display(r.confirmed.get(ind.id), ind)
            if r.yearly_before is not None:
                before_row = r.yearly_before.get(ind.id)
                _, last = _display(before_row, ind)
                absolute, relative = _change_text(
                    row.baseline if row is not None else None, row, before_row, ind
                )
            else:
                last = absolute = relative = NOT_APPLICABLE
            body.append(
                f'<tr><th scope="row">{_e(ind.name_nb)}</th><td>{_e(_unit(ind))}</td>'
                f'<td class="num">{_e(value)}</td><td class="num">{_e(confirmed)}</td>'
                f'<td class="num">{_e(last)}</td><td class="num">{_e(absolute)}</td>'
                f'<td class="num">{_e(relative)}</td></tr>'
            )
    return (
        '<section id="hovedtall" class="summary">'
        f"<h2>Hovedtall og endring fra {before}</h2>"
        f"<p>Hver indikator for hele {r.year}, sammenlignet med hele {before}. En endring "
        f"vises ikke når ett av årene er skjult ({SUPPRESSED}).</p>"
        f"<table><caption>Indikatorene {r.year} og {before}, {_e(r.place)}</caption>"
        f"{head}<tbody>{''.join(body)}</tbody></table>"
        f'<p class="note">{_e(GRADE_NOTE)}</p>'
        "</section>"
    )


def _month_points(r: _Report, ind: Indicator) -> list[Point]:
    points = []
    for m in range(1, 13):
        key = f"{r.year:04d}-{m:02d}"
        row = r.monthly.get(ind.id, key)
        compare: Decimal | None = None
        if r.monthly_before is not None:
            compare, _ = _display(r.monthly_before.get(ind.id, f"{r.year - 1:04d}-{m:02d}"), ind)
        if row is None and m > r.last_month:
            points.append(Point(label=MONTHS_NB[m - 1], value=None, compare=compare, future=True))
            continue
        value, text = _display(row, ind)
        points.append(
            Point(
                label=MONTHS_NB[m - 1],
                value=value,
                text=_short(value) if value is not None else "",
                mark="" if value is not None else text,
                compare=compare,
            )
        )
    return points


def _subgoal(r: _Report, sg: str, name: str, intro: str) -> str:
    figures = []
    for ind in (i for i in INDICATORS if i.subgoal == sg):
        figures.append(_month_figure(r, ind))
    return (
        f'<section id="{_e(sg.lower())}" class="subgoal">'
        f"<h2>{_e(sg)} {_e(name)}</h2>"
        f"<p>{_e(intro)} Hver indikator måned for måned i {r.year}"
        + (
            f"; de stiplede strekene er samme måned i {r.year - 1}"
            if r.monthly_before is not None
            else ""
        )
        + ".</p>"
        f'<div class="charts">{"".join(figures)}</div>'
        "</section>"
    )


def _month_figure(r: _Report, ind: Indicator) -> str:
    points = _month_points(r, ind)
    chart_id = _dom_id("m", ind.id)
    _, total = _display(r.yearly.get(ind.id), ind)
    described = []
    for p in points:
        shown = "ikke ennå" if p.future else (p.text if p.value is not None else p.mark)
        if p.value is not None:
            shown = number(p.value, ind.decimals)
        if p.compare is not None:
            shown += f" (i fjor {number(p.compare, ind.decimals)})"
        described.append(f"{p.label}: {shown}")
    desc = f"{ind.name_nb} per måned i {r.year}, {_unit(ind)}. " + "; ".join(described) + "."
    svg = month_chart(
        chart_id,
        title=f"{ind.name_nb}, {r.year}",
        desc=desc,
        points=points,
        unit=_unit(ind),
        kind="line" if ind.is_share or ind.per_1000 else "bar",
    )
    cells = []
    for half in (points[:6], points[6:]):
        heads = "".join(f'<th scope="col">{_e(p.label)}</th>' for p in half)
        values = "".join(
            "<td></td>"
            if p.future
            else f"<td>{_e(number(p.value, ind.decimals) if p.value is not None else p.mark)}</td>"
            for p in half
        )
        cells.append(f"<tr>{heads}</tr><tr>{values}</tr>")
    return (
        f'<figure id="{_e(chart_id)}" aria-labelledby="{_e(chart_id)}-c">'
        f'<figcaption id="{_e(chart_id)}-c"><strong>{_e(ind.name_nb)}</strong> '
        f"({_e(_unit(ind))})"
        f'<span class="total">Hele {r.year}: {_e(total)}</span></figcaption>'
        f"{svg}"
        f'<table class="months" aria-label="{_e(ind.name_nb)} per måned {r.year}">'
        f"{''.join(cells)}</table>"
        "</figure>"
    )


def _places_heading(r: _Report) -> str:
    if r.place_dim == "kommune":
        return f"Kommunene i {r.place} sammenlignet"
    return "Fylkene sammenlignet"


def _ranked(
    keyed: list[tuple[str, Row | None]], ind: Indicator
) -> list[tuple[str, Decimal | None, str]]:
    """(key, value, text) ranked: largest first; then suppressed; then without a value."""
    out = []
    for key, row in keyed:
        value, text = _display(row, ind)
        out.append((key, value, text))
    return sorted(
        out,
        key=lambda t: (
            0 if t[1] is not None else (1 if t[2] == SUPPRESSED else 2),
            -(t[1] or 0),
            t[0],
        ),
    )


def _places(r: _Report) -> str:
    if r.places is None or r.place_dim is None:
        return ""
    dim = r.place_dim
    keys: list[str] = list(r.place_names)
    # Records without a place are their own line (they count in the total).
    extra = sorted(
        {k or "" for i in COMPARED for k, _ in r.places.keyed(i) if (k or "") not in keys}
    )
    figures = []
    table_rows: dict[str, list[str]] = {k: [] for k in [*keys, *extra]}
    for ind_id in COMPARED:
        ind = BY_ID[ind_id]
        keyed = [(k, r.places.get(ind_id, k or None)) for k in [*keys, *extra]]
        ranked = _ranked(keyed, ind)
        for k, _, text in ranked:
            table_rows[k].append(text)
        if dim == "kommune":
            # Many kommuner: only those where something was counted.
            shown = [t for t in ranked if t[1] is None or t[1] != 0]
            hidden = len(ranked) - len(shown)
        else:
            shown, hidden = ranked, 0
        bars = [
            Bar(
                label=_place_label(k or None, r.place_names, dim),
                value=v,
                text=_short(v) if v is not None else "",
                mark="" if v is not None else text,
            )
            for k, v, text in shown
        ]
        chart_id = _dom_id("p", ind.id)
        desc = "; ".join(f"{b.label}: {b.text or b.mark}" for b in bars) or "ingen verdier"
        note = (
            f'<p class="note">{hidden} kommuner uten registreringer er ikke vist (0).</p>'
            if hidden
            else ""
        )
        svg = (
            ranked_bars(
                chart_id,
                title=f"{ind.name_nb} {r.year}, rangert",
                desc=f"{ind.name_nb} {r.year} ({_unit(ind)}), rangert: {desc}.",
                bars=bars,
                unit=_unit(ind),
            )
            if any(b.value or b.mark == SUPPRESSED for b in bars)
            else f'<p class="note">Ingen registreringer i {r.year}.</p>'
        )
        figures.append(
            f'<figure class="wide" id="{_e(chart_id)}">'
            f"<figcaption><strong>{_e(ind.name_nb)}</strong> ({_e(_unit(ind))}), "
            f"{r.year}</figcaption>{svg}{note}</figure>"
        )
    # Every value of a column comes from the same aggregate; rows in number order.
    columns = "".join(f'<th scope="col" class="num">{_e(BY_ID[c].name_nb)}</th>' for c in COMPARED)
    body = []
    for k in [*keys, *extra]:
        cells = []
        for ind_id in COMPARED:
            ind = BY_ID[ind_id]
            _, text = _display(r.places.get(ind_id, k or None), ind)
            cells.append(f'<td class="num">{_e(text)}</td>')
        label = _place_label(k or None, r.place_names, dim)
        body.append(
            f'<tr><th scope="row">{_e(label)} <span class="note">{_e(k)}</span></th>'
            f"{''.join(cells)}</tr>"
        )
    what = "kommune" if dim == "kommune" else "fylke"
    return (
        f'<section id="steder" class="places"><h2>{_e(_places_heading(r))}</h2>'
        f"<p>Utvalgte indikatorer per {what} for hele {r.year}, størst først; skjulte "
        f"({SUPPRESSED}) til slutt. Utlån per 1 000 innbyggere tar hensyn til folketallet.</p>"
        f"{''.join(figures)}"
        f"<table><caption>Per {what}, {r.year}</caption>"
        f'<thead><tr><th scope="col">{what.capitalize()}</th>{columns}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        "</section>"
    )


def _categories(r: _Report) -> str:
    parts = []
    for ind_id in TOP_CATEGORIES:
        ind = BY_ID[ind_id]
        keyed = r.categories.keyed(ind_id)
        shown = sorted(
            ((k, row) for k, row in keyed if not row.suppressed and row.value is not None),
            key=lambda t: (-(t[1].value or 0), t[0] or ""),
        )[:TOP_N]
        suppressed = sorted(
            (_category_label(k, r.category_names) for k, row in keyed if row.suppressed),
        )
        others = len(keyed) - len(shown) - len(suppressed)
        bars = [
            Bar(
                label=_category_label(k, r.category_names),
                value=row.value,
                text=_short(row.value) if row.value is not None else "",
            )
            for k, row in shown
        ]
        chart_id = _dom_id("k", ind.id)
        rows = []
        for rank, (k, row) in enumerate(shown, start=1):
            _, value = _display(row, ind)
            change = NOT_APPLICABLE
            if row.previous is not None and row.previous.relative is not None:
                change = number(row.previous.relative * 100, 1, signed=True) + f"{NBSP}%"
            rows.append(
                f'<tr><td class="num">{rank}</td>'
                f'<th scope="row">{_e(_category_label(k, r.category_names))} '
                f"<code>{_e(k or '')}</code></th>"
                f'<td class="num">{_e(value)}</td><td class="num">{_e(change)}</td></tr>'
            )
        if suppressed:
            rows.append(
                f'<tr><td class="num">{SUPPRESSED}</td><th scope="row">Skjult: '
                f"{_e(', '.join(suppressed))}</th>"
                f'<td class="num">{SUPPRESSED}</td><td class="num">{SUPPRESSED}</td></tr>'
            )
        svg = (
            ranked_bars(
                chart_id,
                title=f"Toppkategorier: {ind.name_nb} {r.year}",
                desc=f"De {len(bars)} største kategoriene for {ind.name_nb} {r.year}: "
                + "; ".join(f"{b.label}: {b.text}" for b in bars)
                + ".",
                bars=bars,
                unit=_unit(ind),
                label_width=190,
            )
            if bars
            else ""
        )
        note = f'<p class="note">{others} andre kategorier er ikke vist.</p>' if others > 0 else ""
        empty = '<p class="note">Ingen kategorier å vise.</p>' if not rows else ""
        parts.append(
            f'<figure class="wide" id="{_e(chart_id)}">'
            f"<figcaption><strong>{_e(ind.name_nb)}</strong> ({_e(_unit(ind))}): de "
            f"{TOP_N} største kategoriene i {r.year}</figcaption>{svg}"
            + (
                f"<table><caption>{_e(ind.name_nb)} etter kategori, {r.year}</caption>"
                '<thead><tr><th scope="col" class="num">#</th><th scope="col">Kategori</th>'
                f'<th scope="col" class="num">{r.year}</th>'
                f'<th scope="col" class="num">endring fra {r.year - 1}</th></tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>"
                if rows
                else ""
            )
            + f"{note}{empty}</figure>"
        )
    return (
        '<section id="kategorier" class="categories"><h2>Toppkategorier</h2>'
        f"<p>Kategoriene med flest gjenbruksoverleveringer og reparasjoner i {r.year}. "
        f"Skjulte kategorier ({SUPPRESSED}) er nevnt, uten tall og uten plass i "
        "rangeringen.</p>"
        f"{''.join(parts)}</section>"
    )


def _method(r: _Report) -> str:
    indicators = []
    for ind in INDICATORS:
        rows = [
            ("Id", f"<code>{_e(ind.id)}</code>"),
            ("Delmål", _e(ind.subgoal)),
            ("English", f'<span lang="en">{_e(ind.name_en)}</span>'),
            ("Enhet", _e(ind.unit)),
            ("Definisjon", f'<span lang="en">{_e(ind.definition)}</span>'),
            ("Telleregel", f'<span lang="en">{_e(ind.counting_rule)}</span>'),
            ("Datakilde", f'<span lang="en">{_e(ind.data_source)}</span>'),
            (
                "Faktorkilde",
                f'<span lang="en">{_e(ind.factor_source)}</span>'
                if ind.factor_source
                else "ingen (tellinger og målte mengder)",
            ),
        ]
        dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
        indicators.append(f'<div class="indicator"><h4>{_e(ind.name_nb)}</h4><dl>{dl}</dl></div>')
    return (
        '<section id="metode" class="method"><h2>Metode</h2>'
        "<h3>Kilde til tallene</h3>"
        '<p>Alle tall er summer over Sirkels bevislogg (<i lang="en">evidence ledger</i>): '
        "én signert post for hver fullført overlevering, reparasjon, utlån, utleie eller "
        "utveksling. En post endres aldri; en bestridt, annullert eller korrigert transaksjon "
        "får en ny post som trekker den gamle tilbake, så summen alltid er dagens sannhet. "
        "Måneden er måneden hendelsen skjedde, i norsk tid. Tallene er de samme som "
        "<code>GET /v1/impact</code> gir med samme filter.</p>"
        f"<p>{_e(GRADE_NOTE)}</p>"
        + (
            f"<p>Utlån per 1 000 innbyggere bruker folketallet 1. januar "
            f"{r.yearly.population_year} (SSB).</p>"
            if r.yearly.population_year
            else ""
        )
        + "<h3>Personvern: skjuling av små tall</h3>"
        f"<p>Et tall bygget på færre enn <strong>{MIN_RECORDS}</strong> poster "
        "(<code>MIN_RECORDS</code>), eller som teller mellom én og "
        f"<strong>{MIN_HOUSEHOLDS - 1}</strong> ulike husholdninger (færre enn "
        f"<code>MIN_HOUSEHOLDS</code> = {MIN_HOUSEHOLDS}), skjules ({SUPPRESSED}). Null "
        "skjules ikke. Deretter skjules også det minste andre tallet i hver rekke som summerer "
        "til en total noen kan spørre om (måneder i et kvartal og et år, kommuner i et fylke, "
        "fylker i landet), så et skjult tall ikke kan regnes ut ved å trekke de viste fra "
        "totalen. En endring vises ikke når en av sidene er skjult. Partene i bevisloggen er "
        "pseudonymer; rapporten nevner ingen personer eller virksomheter.</p>"
        "<h3>Indikatorene</h3>"
        "<p>Definisjon, telleregel, datakilde og faktorkilde for hver indikator i rapporten, "
        "som i katalogen <code>GET /v1/impact/indicators</code> (på engelsk).</p>"
        f'<div class="indicators">{"".join(indicators)}</div>'
        f"{_revisions(r)}{_datasets(r)}{_ledger(r)}"
        "</section>"
    )


def _revisions(r: _Report) -> str:
    rows = "".join(
        f'<tr><td class="num">{rev.revision}</td><td>{_e(_when(rev.created_at))}</td>'
        f'<td class="num">{rev.factor_count}</td><td><code>{_e(rev.checksum)}</code></td>'
        f"<td>{_e(rev.note)}</td></tr>"
        for rev in r.revisions
    )
    table = (
        "<table><caption>Revisjoner av påvirkningsfaktorene</caption><thead><tr>"
        '<th scope="col" class="num">Revisjon</th><th scope="col">Opprettet</th>'
        '<th scope="col" class="num">Faktorer</th><th scope="col">Sjekksum (SHA-256)</th>'
        '<th scope="col">Merknad</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="note">Ingen faktorrevisjoner er lastet.</p>'
    )
    return (
        "<h3>Faktorrevisjoner</h3>"
        "<p>Kilo og CO2e regnes med versjonerte faktorer: hver post i bevisloggen bærer "
        "nummeret på revisjonen den ble regnet med, og en revisjon endres aldri. Gjenbruk og "
        "reparasjon: The Restart Projects kategorifaktorer (CO2e før bruk \u00d7 0,5 fortrengning, "
        "og gjennomsnittsvekt); materialer der bare vekten er kjent: WRAP, 0,51 kg CO2e per kg. "
        "Alle revisjoner:</p>"
        f"{table}"
    )


def _datasets(r: _Report) -> str:
    rows = []
    for ds in r.datasets:
        attribution = ATTRIBUTIONS.get(ds.name)
        if attribution is None:
            what, licence, text = ds.name, "se data/README.md", ""
            links = ""
        else:
            what, licence, text = attribution.what, attribution.licence, attribution.text
            links = "<br>".join(
                f'<a href="{_e(url)}">{_e(label)}</a>' for label, url in attribution.links
            )
        rows.append(
            f'<tr class="has-sub"><td><code>{_e(ds.name)}</code><br>{_e(what)}</td>'
            f"<td>{_e(licence)}</td><td>{_e(text)}{'<br>' + links if links else ''}</td>"
            f'<td class="num">{ds.row_count}</td></tr>'
            f'<tr class="sub"><td colspan="4">SHA-256 <code>{_e(ds.sha256)}</code>, lastet '
            f"{_e(_when(ds.loaded_at))}</td></tr>"
        )
    table = (
        "<table><caption>Referansedata lastet i databasen</caption><thead><tr>"
        '<th scope="col">Datasett</th><th scope="col">Lisens</th>'
        '<th scope="col">Kildehenvisning</th><th scope="col" class="num">Rader</th>'
        "</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="note">Ingen referansedata er lastet.</p>'
    )
    return (
        "<h3>Referansedata og kildehenvisninger</h3>"
        "<p>Grenser, folketall, faktorer og koder er åpne data fra andre, under sine egne "
        "lisenser (se <code>data/README.md</code>). Reuse-faktorene og ORDS-kategoriene er "
        "CC BY-SA 4.0 (del på samme vilkår); avfallskodene er gjengitt uten at Defra eller EU "
        "står bak rapporten.</p>"
        f"{table}"
    )


def _ledger(r: _Report) -> str:
    end = f"31.12.{r.year}"
    if r.head_year is None:
        head = f"<p>Bevisloggen hadde ingen poster ved utgangen av {r.year} (norsk tid).</p>"
    else:
        head = (
            "<dl>"
            f'<dt>Seq</dt><dd><code class="head-seq">{r.head_year.seq}</code></dd>'
            f'<dt>Hash</dt><dd><code class="hash head-hash">{_e(r.head_year.hash_hex)}</code>'
            "</dd>"
            f"<dt>Registrert</dt><dd>{_e(_when(r.head_year.recorded_at))}</dd>"
            "</dl>"
        )
    now = ""
    if r.head_now is not None and (r.head_year is None or r.head_now.seq != r.head_year.seq):
        now = (
            "<p>Tallene i rapporten er regnet av hele loggen slik den var da rapporten ble "
            f"laget, til og med post <code>{r.head_now.seq}</code> (hash "
            f'<code class="hash">{_e(r.head_now.hash_hex)}</code>): poster registrert etter '
            "årsskiftet om hendelser i året (sene rapporter, bekreftelser, rettelser) er med.</p>"
        )
    return (
        '<h3>Bevisloggen: hodet for året</h3><div class="verify">'
        f"<p>Siste post registrert før utgangen av {end} (norsk tid)"
        + (
            f" {NDASH} året er ikke over, så dette er hodet da rapporten ble laget"
            if r.last_month < 12
            else ""
        )
        + ":</p>"
        f"{head}{now}"
        "<p>Slik kontrollerer du den: <code>GET /v1/evidence/verify</code> (analytikere og "
        "moderatorer) sjekker hele kjeden i databasen og oppgir hodet nå. For å kontrollere "
        "selv: hent postene med <code>GET /v1/evidence?limit=1000</code> og "
        "<code>next_cursor</code>, kjør verifikatoren i Sirkels README (avsnittet "
        "«Verifying independently»: <code>verify_chain</code>) fra seq 1, og sjekk at posten "
        "med seq-nummeret over har nøyaktig denne hashen. Behold hashen: en senere kjede må "
        "fortsatt ha den på samme seq.</p>"
        "</div>"
    )
