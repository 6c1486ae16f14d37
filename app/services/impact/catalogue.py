"""The indicator catalogue: what ``GET /v1/impact`` can count, and exactly how.

Each indicator names its sub-goal, unit, definition, counting rule, data source and factor
source (what the working group must publish with a number), plus the *recipe* the query
service follows: which rollup it reads (``source``), which records it takes (``subgoal``,
``types``, ``facets``), which measure it sums, and which groupings make sense for it.

Sources:

* ``cells`` — sums over ``impact_cells`` (counts, kilograms, CO2e, item-days, MWh);
* ``parties`` — distinct pseudonymous parties in ``impact_parties`` (borrowers, organizations);
* ``collaborations`` — cross-sector pairs in ``impact_collaborations``, counted when first seen;
* ``lendable`` — lendable listings and the loans of them (``listings`` + the ledger).

Every number is computed from the evidence ledger's signed records, so a record taken back (a
dispute, a void, a correction) changes the totals by itself, and a listing that was never
handed over counts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Source = Literal["cells", "parties", "collaborations", "lendable", "matched"]
Measure = Literal["records", "kg", "co2e_kg", "unit_days", "quantity"]
# What a lendable indicator computes from the lendable listings of a period.
LendableMeasure = Literal["used_share", "loans_per_unit", "idle_share"]
Role = Literal["provider", "receiver", "any"]

TIME_DIMS = ("year", "quarter", "month")
ALL_DIMS = (
    *TIME_DIMS,
    "subgoal",
    "fylke",
    "kommune",
    "sector",
    "category",
    "initiative",
    "kind",
    "type",
)
_CELL_DIMS = frozenset(
    {*TIME_DIMS, "subgoal", "fylke", "kommune", "sector", "category", "initiative"}
)
_GEO_TIME_DIMS = frozenset({*TIME_DIMS, "fylke", "kommune"})

REPAIR_OUTCOMES = ("Fixed", "Repairable", "End of life")

_FIXOMETER = (
    "Restart Project Fixometer method (open-repair-data, CC BY-SA): the category's pre-use "
    "CO2e x 0.5 displacement and its average weight; versioned in impact_factor_revisions"
)
_WRAP = "WRAP: 0.51 kg CO2e avoided per kg of material reused; versioned factors"
_LEDGER = "Sirkel evidence ledger (signed, hash-chained records)"


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    subgoal: str
    name_nb: str
    name_en: str
    unit: str
    definition: str
    counting_rule: str
    data_source: str
    factor_source: str | None
    source: Source
    measure: Measure = "records"
    lendable: LendableMeasure = "used_share"
    types: tuple[str, ...] = ()
    facets: tuple[str, ...] = ()
    # A share: the measure over records with these facets, as a percentage of all taken.
    numerator_facets: tuple[str, ...] = ()
    scale: Decimal = Decimal(1)
    per_1000: bool = False
    role: Role = "any"
    party_sectors: tuple[str, ...] = ()
    exclude_households: bool = False
    # Counts records of every sub-goal, though it reports under its own (active organizations).
    all_subgoals: bool = False
    dims: frozenset[str] = field(default=_CELL_DIMS)
    decimals: int = 0

    @property
    def is_share(self) -> bool:
        if self.source == "lendable":
            return self.lendable != "loans_per_unit"
        return bool(self.numerator_facets)


INDICATORS: tuple[Indicator, ...] = (
    # --- SG1: reuse and repair -----------------------------------------------------------
    Indicator(
        id="sg1.reuse.handovers",
        subgoal="SG1",
        name_nb="Gjenbruk: overleveringer",
        name_en="Reuse handovers",
        unit="count",
        definition="Items and materials given away or sold for reuse and handed over.",
        counting_rule="One per completed reuse transaction; disputes and voids take it back.",
        data_source=_LEDGER,
        factor_source=None,
        source="cells",
        types=("reuse",),
    ),
    Indicator(
        id="sg1.reuse.kg",
        subgoal="SG1",
        name_nb="Gjenbruk: kilo holdt i bruk",
        name_en="Reuse: kilograms kept in use",
        unit="kg",
        definition="Weight of the items handed over for reuse.",
        counting_rule="The listing's weight, or the category's average weight per item.",
        data_source=_LEDGER,
        factor_source=_FIXOMETER,
        source="cells",
        types=("reuse",),
        measure="kg",
        decimals=3,
    ),
    Indicator(
        id="sg1.reuse.co2e",
        subgoal="SG1",
        name_nb="Gjenbruk: unngått utslipp",
        name_en="Reuse: emissions avoided",
        unit="t CO2e",
        definition="Greenhouse-gas emissions avoided by reuse instead of new purchase.",
        counting_rule="Per item: the category's pre-use CO2e x 0.5; weight-only: 0.51 kg/kg.",
        data_source=_LEDGER,
        factor_source=_FIXOMETER,
        source="cells",
        types=("reuse",),
        measure="co2e_kg",
        scale=Decimal("0.001"),
        decimals=3,
    ),
    Indicator(
        id="sg1.repairs.count",
        subgoal="SG1",
        name_nb="Reparasjoner",
        name_en="Repairs",
        unit="count",
        definition="Repairs attempted by repair shops, repair cafés and repair transactions.",
        counting_rule="One per repair logged, imported (ORDS) or completed; any outcome.",
        data_source=_LEDGER + "; imported Open Repair Data Standard files",
        factor_source=None,
        source="cells",
        types=("repair",),
    ),
    *(
        Indicator(
            id=f"sg1.repairs.{outcome.lower().replace(' ', '_')}",
            subgoal="SG1",
            name_nb=f"Reparasjoner: {nb}",
            name_en=f"Repairs: {outcome.lower()}",
            unit="count",
            definition=f"Repairs with the ORDS outcome '{outcome}'.",
            counting_rule="One per repair with this outcome; a correction moves it.",
            data_source=_LEDGER,
            factor_source=None,
            source="cells",
            types=("repair",),
            facets=(outcome,),
        )
        for outcome, nb in zip(
            REPAIR_OUTCOMES, ("fikset", "kan repareres", "utrangert"), strict=True
        )
    ),
    Indicator(
        id="sg1.repairs.fixed_kg",
        subgoal="SG1",
        name_nb="Reparasjoner: kilo reddet",
        name_en="Repairs: kilograms kept in use",
        unit="kg",
        definition="Weight of the products fixed.",
        counting_rule="Fixed repairs only: the category's average weight.",
        data_source=_LEDGER,
        factor_source=_FIXOMETER,
        source="cells",
        types=("repair",),
        facets=("Fixed",),
        measure="kg",
        decimals=3,
    ),
    Indicator(
        id="sg1.repairs.fixed_co2e",
        subgoal="SG1",
        name_nb="Reparasjoner: unngått utslipp",
        name_en="Repairs: emissions avoided",
        unit="t CO2e",
        definition="Emissions avoided by fixing instead of replacing.",
        counting_rule="Fixed repairs only: the category's pre-use CO2e x 0.5.",
        data_source=_LEDGER,
        factor_source=_FIXOMETER,
        source="cells",
        types=("repair",),
        facets=("Fixed",),
        measure="co2e_kg",
        scale=Decimal("0.001"),
        decimals=3,
    ),
    Indicator(
        id="sg1.repairs.success_rate",
        subgoal="SG1",
        name_nb="Reparasjoner: andel fikset",
        name_en="Repair success rate",
        unit="%",
        definition="Share of repairs with a known outcome that were fixed.",
        counting_rule="Fixed / (Fixed + Repairable + End of life) x 100.",
        data_source=_LEDGER,
        factor_source=None,
        source="cells",
        types=("repair",),
        facets=REPAIR_OUTCOMES,
        numerator_facets=("Fixed",),
        decimals=1,
    ),
    Indicator(
        id="sg1.organizations.active",
        subgoal="SG1",
        name_nb="Aktive organisasjoner",
        name_en="Active organizations",
        unit="count",
        definition="Organizations that gave, received, lent, repaired or shared in the period.",
        counting_rule="Distinct organizations with at least one record that still counts; "
        "group by sector (their own) or kind.",
        data_source=_LEDGER + " (pseudonymous parties)",
        factor_source=None,
        source="parties",
        exclude_households=True,
        all_subgoals=True,
        dims=_CELL_DIMS | {"kind"},
    ),
    Indicator(
        id="sg1.collaborations.cross_sector",
        subgoal="SG1",
        name_nb="Samarbeid på tvers av sektorer",
        name_en="Cross-sector collaborations",
        unit="count",
        definition="Distinct pairs of organizations from different sectors that completed a "
        "transaction together or share an initiative.",
        counting_rule="Each pair once, in the month first seen; later records do not add.",
        data_source=_LEDGER + "; initiatives",
        factor_source=None,
        source="collaborations",
        dims=frozenset({*TIME_DIMS, "fylke", "kommune", "initiative"}),
    ),
    # --- SG2: sharing ---------------------------------------------------------------------
    Indicator(
        id="sg2.loans.count",
        subgoal="SG2",
        name_nb="Utlån",
        name_en="Loans",
        unit="count",
        definition="Items lent free of charge and returned.",
        counting_rule="One per loan completed (returned).",
        data_source=_LEDGER,
        factor_source=None,
        source="cells",
        types=("loan",),
    ),
    Indicator(
        id="sg2.rentals.count",
        subgoal="SG2",
        name_nb="Utleie",
        name_en="Rentals",
        unit="count",
        definition="Items rented out and returned (a rented space counts under SG3).",
        counting_rule="One per rental completed.",
        data_source=_LEDGER,
        factor_source=None,
        source="cells",
        types=("rental",),
    ),
    Indicator(
        id="sg2.sharing.item_days",
        subgoal="SG2",
        name_nb="Deling: gjenstandsdøgn",
        name_en="Sharing: item-days",
        unit="item-days",
        definition="Days items spent with a borrower or renter, times the number of items.",
        counting_rule="From pickup to return, per completed loan or rental.",
        data_source=_LEDGER,
        factor_source=None,
        source="cells",
        types=("loan", "rental"),
        measure="unit_days",
        decimals=3,
    ),
    Indicator(
        id="sg2.borrowers.distinct",
        subgoal="SG2",
        name_nb="Ulike lånere",
        name_en="Distinct borrowers",
        unit="count",
        definition="Distinct households and organizations that borrowed or rented an item.",
        counting_rule="Distinct receivers of completed loans and rentals in the period.",
        data_source=_LEDGER + " (pseudonymous parties)",
        factor_source=None,
        source="parties",
        types=("loan", "rental"),
        role="receiver",
    ),
    Indicator(
        id="sg2.loans.per_1000",
        subgoal="SG2",
        name_nb="Utlån og utleie per 1 000 innbyggere",
        name_en="Loans and rentals per 1,000 inhabitants",
        unit="per 1,000 inhabitants",
        definition="Completed loans and rentals of items per 1,000 inhabitants of the area.",
        counting_rule="Loans + rentals / population x 1,000; population of the kommune, the "
        "fylke or Norway (Statistics Norway, the year given in the response).",
        data_source=_LEDGER + "; Statistics Norway population (table 07459)",
        factor_source=None,
        source="cells",
        types=("loan", "rental"),
        per_1000=True,
        dims=_GEO_TIME_DIMS,
        decimals=2,
    ),
    Indicator(
        id="sg2.lendable.used_share",
        subgoal="SG2",
        name_nb="Andel utlånsgjenstander brukt",
        name_en="Share of lendable items used",
        unit="%",
        definition="Share of the items offered for lending or rent that were lent or rented "
        "at least once in the period.",
        counting_rule="Listings of items to lend or rent, published before the period ended "
        "and not closed before it began; used = at least one loan or rental completed in "
        "the period that still counts.",
        data_source="Sirkel listings; " + _LEDGER,
        factor_source=None,
        source="lendable",
        types=("loan", "rental"),
        dims=frozenset({*TIME_DIMS, "fylke", "kommune", "category"}),
        decimals=1,
    ),
    Indicator(
        id="sg2.loans.per_item",
        subgoal="SG2",
        name_nb="Utlån per utlånsgjenstand per år",
        name_en="Loans per lendable item per year",
        unit="loans per unit per year",
        definition="How often a unit offered for lending or rent is lent or rented: completed "
        "loans and rentals per lendable unit, as a yearly rate.",
        counting_rule="Loans + rentals completed in the period that still count, divided by "
        "the units of the lendable listings of the period (a listing of 3 drills is 3 units), "
        "times 12 / the period's months.",
        data_source="Sirkel listings; " + _LEDGER,
        factor_source=None,
        source="lendable",
        lendable="loans_per_unit",
        types=("loan", "rental"),
        dims=frozenset({*TIME_DIMS, "fylke", "kommune", "category"}),
        decimals=2,
    ),
    Indicator(
        id="sg2.items.idle_share",
        subgoal="SG2",
        name_nb="Andel utlånsgjenstander uten utlån på 90 dager",
        name_en="Share of lendable items idle for 90 days",
        unit="%",
        definition="Share of the units offered for lending or rent that no loan or rental "
        "ended in the 90 days up to the period's end: what sits on the shelf.",
        counting_rule="Units of the lendable listings of the period; idle = no completed loan "
        "or rental of that unit (that still counts) in the 90 days before the period ends.",
        data_source="Sirkel listings; " + _LEDGER,
        factor_source=None,
        source="lendable",
        lendable="idle_share",
        types=("loan", "rental"),
        dims=frozenset({*TIME_DIMS, "fylke", "kommune", "category"}),
        decimals=1,
    ),
    # --- SG3: business sharing -----------------------------------------------------------
    Indicator(
        id="sg3.materials.tonnes",
        subgoal="SG3",
        name_nb="Materialer utvekslet",
        name_en="Materials exchanged",
        unit="t",
        definition="Surplus materials passed between businesses; group by category for the "
        "European List of Waste chapter (ewc-17 …).",
        counting_rule="Delivered quantity in kg or t of completed material exchanges.",
        data_source=_LEDGER,
        factor_source=_WRAP,
        source="cells",
        types=("material_exchange",),
        measure="kg",
        scale=Decimal("0.001"),
        decimals=3,
    ),
    Indicator(
        id="sg3.materials.hazardous_share",
        subgoal="SG3",
        name_nb="Materialer: andel farlig avfall",
        name_en="Materials: hazardous share",
        unit="%",
        definition="Share of the exchanged tonnage whose code is hazardous (an asterisk in "
        "the European List of Waste).",
        counting_rule="Hazardous kg / all kg x 100.",
        data_source=_LEDGER + "; European List of Waste (2014/955/EU)",
        factor_source=None,
        source="cells",
        types=("material_exchange",),
        facets=("hazardous", "non_hazardous"),
        numerator_facets=("hazardous",),
        measure="kg",
        decimals=1,
    ),
    Indicator(
        id="sg3.energy.mwh",
        subgoal="SG3",
        name_nb="Overskuddsvarme og energi",
        name_en="Surplus energy delivered",
        unit="MWh",
        definition="Waste heat and other surplus energy delivered to another party.",
        counting_rule="Delivered MWh of completed energy exchanges.",
        data_source=_LEDGER,
        factor_source=None,
        source="cells",
        types=("energy_exchange",),
        measure="quantity",
        decimals=3,
    ),
    Indicator(
        id="sg3.space.m2_days",
        subgoal="SG3",
        name_nb="Delte lokaler: m²-døgn",
        name_en="Shared space: m²·days",
        unit="m²·days",
        definition="Floor space shared or rented out, times the days used.",
        counting_rule="Square metres booked x days, per completed space share or space "
        "rental (a booking without an area counts as one unit).",
        data_source=_LEDGER,
        factor_source=None,
        source="cells",
        types=("space_share", "rental"),
        measure="unit_days",
        decimals=3,
    ),
    Indicator(
        id="sg3.businesses.giving",
        subgoal="SG3",
        name_nb="Bedrifter som gir",
        name_en="Businesses giving",
        unit="count",
        definition="Distinct businesses that provided materials, energy or space.",
        counting_rule="Distinct providers in the business sector with an SG3 record.",
        data_source=_LEDGER + " (pseudonymous parties)",
        factor_source=None,
        source="parties",
        role="provider",
        party_sectors=("business",),
    ),
    Indicator(
        id="sg3.businesses.receiving",
        subgoal="SG3",
        name_nb="Bedrifter som mottar",
        name_en="Businesses receiving",
        unit="count",
        definition="Distinct businesses that received materials, energy or space.",
        counting_rule="Distinct receivers in the business sector with an SG3 record.",
        data_source=_LEDGER + " (pseudonymous parties)",
        factor_source=None,
        source="parties",
        role="receiver",
        party_sectors=("business",),
    ),
    Indicator(
        id="sg3.matches.converted",
        subgoal="SG3",
        name_nb="Treff som ble til utvekslinger",
        name_en="Matches converted",
        unit="count",
        definition="Exchanges that started from a match: the receiver asked for the listing with "
        "match_of, their own wanted listing whose matches found it (GET "
        "/v1/listings/{id}/matches). Group by type for the kind of exchange (material_exchange, "
        "energy_exchange, space_share, rental, reuse, loan).",
        counting_rule="One per completed exchange started from a match; disputes and voids take "
        "it back. Counts every sub-goal's exchanges (an item found by a match is SG1).",
        data_source=_LEDGER + " (records with matched = true, canonical version 3)",
        factor_source=None,
        source="matched",
        all_subgoals=True,
        dims=frozenset({*TIME_DIMS, "fylke", "kommune", "sector", "category", "type"}),
    ),
)

BY_ID: dict[str, Indicator] = {indicator.id: indicator for indicator in INDICATORS}
