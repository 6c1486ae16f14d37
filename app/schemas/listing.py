"""Request and response shapes for listings.

A listing is created with one body per kind (a discriminated union on ``kind``); each body
forbids fields of other kinds, so an EWC code on an item or a temperature on a space is a 422
rather than silently dropped. ``PATCH`` merges the change into the stored listing and validates
the result with the same body model (``app.services.listing``), so an update can never make a
listing that could not have been created.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.models.category import SLUG_MAX_LENGTH, SLUG_PATTERN
from app.models.listing import (
    DESCRIPTION_MAX_LENGTH,
    HIDDEN_REASON_MAX_LENGTH,
    MAX_PRICE_NOK,
    TITLE_MAX_LENGTH,
    TITLE_MIN_LENGTH,
    ListingKind,
    ListingMode,
    ListingStatus,
    QuantityUnit,
)
from app.models.waste import EWC_CODE_PATTERN
from app.schemas.common import DecimalNumber, Timestamp
from app.schemas.common import StrictModel as _Strict
from app.schemas.common import plain_text as _plain_text
from app.schemas.person import PersonSummary


def _single_line(value: str) -> str:
    if "\n" in value or "\t" in value:
        raise ValueError("must be a single line")
    return value


Title = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=TITLE_MIN_LENGTH, max_length=TITLE_MAX_LENGTH
    ),
    AfterValidator(_plain_text),
    AfterValidator(_single_line),
    Field(description="Plain text, one line", examples=["Barnesykkel 20 tommer"]),
]
Description = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=DESCRIPTION_MAX_LENGTH),
    AfterValidator(_plain_text),
    Field(description="Plain text; line breaks are kept"),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_plain_text),
    AfterValidator(_single_line),
]
CategorySlug = Annotated[
    str,
    StringConstraints(max_length=SLUG_MAX_LENGTH, pattern=SLUG_PATTERN),
    Field(description="A category slug from /v1/categories", examples=["childrens-bikes"]),
]
EwcCodeField = Annotated[
    str,
    StringConstraints(pattern=EWC_CODE_PATTERN),
    Field(
        description="Six-digit code of the European List of Waste, without spaces or asterisk",
        examples=["170201"],
    ),
]
Price = Annotated[Decimal, Field(ge=0, le=MAX_PRICE_NOK, decimal_places=2, examples=[250])]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Latitude = Annotated[float, Field(ge=-90, le=90)]


class Point(BaseModel):
    """A GeoJSON Point (RFC 7946): ``[longitude, latitude]`` in WGS 84."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"type": "Point", "coordinates": [10.75, 59.91]}},
    )

    type: Literal["Point"]
    coordinates: tuple[Longitude, Latitude]

    @property
    def lon(self) -> float:
        return self.coordinates[0]

    @property
    def lat(self) -> float:
        return self.coordinates[1]


# --- kind-specific details -------------------------------------------------------------------


class Condition(StrEnum):
    NEW = "new"
    AS_NEW = "as_new"
    GOOD = "good"
    FAIR = "fair"
    FOR_PARTS = "for_parts"


class PricePeriod(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# The migration's trigger (0027, ``transactions_renewal_guard``) falls back to the same number.
DEFAULT_MAX_RENEWALS = 2


class BookingRules(_Strict):
    """How a lendable or rentable listing may be booked (defaults apply when absent)."""

    buffer_hours: int = Field(
        default=0, ge=0, le=168, description="Kept free after each booking (cleaning, checks)"
    )
    max_advance_days: int = Field(
        default=365, ge=1, le=730, description="How far ahead a booking may start"
    )
    max_duration_days: int = Field(
        default=90, ge=1, le=366, description="The longest booking, in days"
    )
    max_renewals: int = Field(
        default=DEFAULT_MAX_RENEWALS,
        ge=0,
        le=52,
        description="How often a booking may be renewed (`renew`), each time by at most "
        "max_duration_days",
    )
    late_fee_nok_per_day: Decimal | None = Field(
        default=None,
        ge=0,
        le=10_000,
        decimal_places=2,
        description="Shown and summed per late loan (`late_fee_nok`); Sirkel takes no payments",
        examples=[20],
    )
    members_only: bool = Field(
        default=False,
        description="Only the owning organization's library members with a membership valid "
        "through the period may book or queue (`403 members_only`; "
        "`/v1/organizations/{id}/memberships`)",
    )


DEFAULT_BOOKING_RULES = BookingRules()


MaxDistanceKm = Annotated[
    float | None,
    Field(
        default=None,
        gt=0,
        le=2000,
        description="How far away a match may be, in km (matching; defaults per kind and energy "
        "type, see the README)",
    ),
]


class ItemDetails(_Strict):
    condition: Condition | None = None
    brand: ShortText | None = None
    catalogue_ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^\S(.*\S)?$",
        description="The owner's own number for the item (a library's catalogue); unique "
        "among an organization's listings, and how a catalogue import knows an item again",
        examples=["BUA-0042"],
    )
    price_period: PricePeriod | None = Field(
        default=None, description="What a rent price covers (required when renting)"
    )
    booking: BookingRules | None = Field(
        default=None, description="Booking rules when the item is lent or rented"
    )
    max_distance_km: MaxDistanceKm = None


class RepairServiceDetails(_Strict):
    also_repairs: list[CategorySlug] = Field(
        default_factory=list, max_length=20, description="Further categories repaired"
    )
    service_radius_km: float | None = Field(default=None, ge=0, le=500)
    price_info: ShortText | None = Field(default=None, examples=["Fast pris 300 kr per time"])
    walk_in: bool = False


class Recurrence(StrEnum):
    ONE_OFF = "one_off"
    RECURRING = "recurring"


class RecurrenceFrequency(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class Logistics(StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"
    EITHER = "either"


class MaterialDetails(_Strict):
    recurrence: Recurrence = Recurrence.ONE_OFF
    frequency: RecurrenceFrequency | None = Field(
        default=None, description="Required when recurring"
    )
    logistics: Logistics = Logistics.PICKUP
    available_from: date | None = None
    density_kg_per_m3: float | None = Field(
        default=None,
        gt=0,
        le=25_000,
        description="Lets matching compare a mass with a volume (kg or t with m³ or l)",
    )
    max_distance_km: MaxDistanceKm = None

    @model_validator(mode="after")
    def _frequency_when_recurring(self) -> MaterialDetails:
        if (self.recurrence is Recurrence.RECURRING) != (self.frequency is not None):
            raise ValueError("a frequency is required for recurring material, and only then")
        return self


class EnergyType(StrEnum):
    HEAT = "heat"
    COOLING = "cooling"
    ELECTRICITY = "electricity"
    STEAM = "steam"


class EnergyDetails(_Strict):
    energy_type: EnergyType
    temperature_c: float | None = Field(default=None, ge=-50, le=1000)
    capacity_kw: float = Field(gt=0, le=1_000_000)
    mwh_per_year: float | None = Field(default=None, ge=0, le=10_000_000)
    months_available: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=lambda: list(range(1, 13)), min_length=1, max_length=12
    )
    max_distance_km: MaxDistanceKm = None
    min_share: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Wanted only: the least share of the need (kW, or MWh a year) an offer "
        "must cover to match",
    )

    @field_validator("months_available")
    @classmethod
    def _distinct_months(cls, months: list[int]) -> list[int]:
        if len(set(months)) != len(months):
            raise ValueError("months must not repeat")
        return sorted(months)


class SpaceType(StrEnum):
    STORAGE = "storage"
    OFFICE = "office"
    WORKSHOP = "workshop"
    PRODUCTION = "production"
    LAND = "land"
    VENUE = "venue"
    COLD_STORAGE = "cold_storage"


class SpaceDetails(_Strict):
    space_type: SpaceType
    area_m2: float = Field(gt=0, le=10_000_000)
    available_from: date | None = None
    available_to: date | None = None
    price_period: PricePeriod | None = Field(
        default=None, description="What a rent price covers (required when renting)"
    )
    booking: BookingRules | None = Field(default=None, description="Booking rules")
    area_min_m2: float | None = Field(
        default=None, gt=0, le=10_000_000, description="Wanted only: the least area that will do"
    )
    area_max_m2: float | None = Field(
        default=None, gt=0, le=10_000_000, description="Wanted only: the most area that will do"
    )
    max_distance_km: MaxDistanceKm = None

    @model_validator(mode="after")
    def _period_in_order(self) -> SpaceDetails:
        if self.available_from and self.available_to and self.available_to < self.available_from:
            raise ValueError("available_to is before available_from")
        if self.area_min_m2 is not None and self.area_min_m2 > self.area_m2:
            raise ValueError("area_min_m2 is above area_m2")
        if self.area_max_m2 is not None and self.area_max_m2 < self.area_m2:
            raise ValueError("area_max_m2 is below area_m2")
        return self


# --- create bodies, one per kind ----------------------------------------------------------


# What a wanted listing states about the offers it would take (matching), and nothing else has.
WANTED_ONLY_DETAILS = ("min_share", "area_min_m2", "area_max_m2")


class _ListingCreateBase(_Strict):
    title: Title
    description: Description = ""
    location: Point = Field(description="Where the listing is; persons' points are blurred")
    organization_id: uuid.UUID | None = Field(
        default=None,
        description="List for this organization (you need a role in it). API keys always "
        "list for their own organization and may leave this out.",
    )
    publish: bool = Field(
        default=True, description="false keeps the listing as a draft until it is published"
    )

    @model_validator(mode="after")
    def _price_fits_mode(self) -> Self:
        """Selling and renting need a price, giving and lending have none, and a rent says
        what the price covers. Kinds without ``mode``, ``price_nok`` or a ``price_period`` in
        their details (repairs; periods of materials and energy) pass what they lack."""
        mode: ListingMode | None = getattr(self, "mode", None)
        price: Decimal | None = getattr(self, "price_nok", None)
        period: PricePeriod | None = getattr(getattr(self, "details", None), "price_period", None)
        if mode in (ListingMode.SELL, ListingMode.RENT) and price is None:
            raise ValueError(f"price_nok is required to {mode}")
        if mode in (ListingMode.GIVE, ListingMode.LEND) and price is not None:
            raise ValueError(f"a listing to {mode} has no price")
        if mode is ListingMode.RENT and period is None:
            raise ValueError("details.price_period is required to rent")
        details = getattr(self, "details", None)
        if mode is not ListingMode.WANTED and details is not None:
            for name in WANTED_ONLY_DETAILS:
                if getattr(details, name, None) is not None:
                    raise ValueError(f"details.{name} is only for wanted listings")
        return self


class ItemCreate(_ListingCreateBase):
    kind: Literal[ListingKind.ITEM]
    mode: ListingMode
    category: CategorySlug
    quantity: int = Field(default=1, ge=1, le=10_000, description="How many identical items")
    price_nok: Price | None = None
    weight_kg: Decimal | None = Field(default=None, gt=0, le=100_000, decimal_places=3)
    details: ItemDetails = Field(default_factory=ItemDetails)


class RepairServiceCreate(_ListingCreateBase):
    kind: Literal[ListingKind.REPAIR_SERVICE]
    category: CategorySlug = Field(description="The main category repaired")
    details: RepairServiceDetails = Field(default_factory=RepairServiceDetails)


class MaterialCreate(_ListingCreateBase):
    kind: Literal[ListingKind.MATERIAL]
    mode: Literal[ListingMode.GIVE, ListingMode.SELL, ListingMode.WANTED]
    ewc_code: EwcCodeField
    quantity: Decimal = Field(gt=0, le=1_000_000_000, decimal_places=3)
    unit: QuantityUnit
    price_nok: Price | None = None
    category: CategorySlug | None = None
    details: MaterialDetails = Field(default_factory=MaterialDetails)


class EnergyCreate(_ListingCreateBase):
    kind: Literal[ListingKind.ENERGY]
    mode: Literal[ListingMode.GIVE, ListingMode.SELL, ListingMode.WANTED]
    price_nok: Price | None = Field(default=None, description="Per MWh")
    details: EnergyDetails


class SpaceCreate(_ListingCreateBase):
    kind: Literal[ListingKind.SPACE]
    mode: Literal[ListingMode.LEND, ListingMode.RENT, ListingMode.WANTED]
    price_nok: Price | None = None
    details: SpaceDetails


ListingCreate = Annotated[
    ItemCreate | RepairServiceCreate | MaterialCreate | EnergyCreate | SpaceCreate,
    Field(discriminator="kind"),
]

CREATE_MODELS: dict[ListingKind, type[_ListingCreateBase]] = {
    ListingKind.ITEM: ItemCreate,
    ListingKind.REPAIR_SERVICE: RepairServiceCreate,
    ListingKind.MATERIAL: MaterialCreate,
    ListingKind.ENERGY: EnergyCreate,
    ListingKind.SPACE: SpaceCreate,
}

LISTING_CREATE_EXAMPLES = {
    "item": {
        "summary": "Give away a child's bike",
        "value": {
            "kind": "item",
            "mode": "give",
            "title": "Barnesykkel 20 tommer",
            "description": "Litt rust på kjedet, ellers fin.",
            "category": "childrens-bikes",
            "location": {"type": "Point", "coordinates": [10.7522, 59.9139]},
            "details": {"condition": "good"},
        },
    },
    "material": {
        "summary": "Surplus timber from a company",
        "value": {
            "kind": "material",
            "mode": "give",
            "title": "Restparti konstruksjonsvirke",
            "ewc_code": "170201",
            "quantity": 2.5,
            "unit": "t",
            "location": {"type": "Point", "coordinates": [10.3951, 63.4305]},
            "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
            "details": {"recurrence": "one_off", "logistics": "pickup"},
        },
    },
    "energy": {
        "summary": "Waste heat from a data centre",
        "value": {
            "kind": "energy",
            "mode": "give",
            "title": "Overskuddsvarme fra datasenter",
            "location": {"type": "Point", "coordinates": [5.3221, 60.3913]},
            "details": {"energy_type": "heat", "temperature_c": 35, "capacity_kw": 800},
        },
    },
    "space": {
        "summary": "Rent out a workshop",
        "value": {
            "kind": "space",
            "mode": "rent",
            "title": "Verksted til leie på kveldstid",
            "price_nok": 300,
            "location": {"type": "Point", "coordinates": [18.9553, 69.6492]},
            "details": {"space_type": "workshop", "area_m2": 60, "price_period": "day"},
        },
    },
    "repair_service": {
        "summary": "A bicycle repair shop",
        "value": {
            "kind": "repair_service",
            "title": "Sykkelreparasjon i sentrum",
            "category": "bikes",
            "location": {"type": "Point", "coordinates": [5.7331, 58.9700]},
            "details": {"also_repairs": ["sports-and-outdoors"], "walk_in": True},
        },
    },
}


class ListingUpdate(_Strict):
    """Fields to change; ``null`` clears an optional one. ``details`` replaces the whole
    object. The result is validated as a whole, like a new listing of the same kind."""

    title: Title | None = None
    description: Description | None = None
    location: Point | None = None
    mode: ListingMode | None = None
    category: CategorySlug | None = None
    ewc_code: EwcCodeField | None = None
    quantity: Decimal | None = Field(default=None, gt=0, le=1_000_000_000)
    unit: QuantityUnit | None = None
    price_nok: Price | None = None
    weight_kg: Decimal | None = Field(default=None, gt=0, le=100_000)
    details: dict[str, Any] | None = None


class HideRequest(_Strict):
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=HIDDEN_REASON_MAX_LENGTH),
        AfterValidator(_plain_text),
    ] = Field(description="Shown to the owner", examples=["Selling weapons is not allowed"])


class ListingAction(StrEnum):
    PUBLISH = "publish"
    RESERVE = "reserve"
    UNRESERVE = "unreserve"
    COMPLETE = "complete"
    WITHDRAW = "withdraw"
    RENEW = "renew"
    APPROVE = "approve"
    UNHIDE = "unhide"


class SortOrder(StrEnum):
    DISTANCE = "distance"
    NEWEST = "newest"


# --- responses ------------------------------------------------------------------------------
# The hot reads (search, a listing by id) serve the JSON PostgreSQL builds
# (``app.repositories.listing``); these models declare it, and the other routes return them
# through ``response_model``, validated from the same document.


class PlaceName(BaseModel):
    number: str
    name: str


class ListingOwner(BaseModel):
    type: Literal["person", "organization"]
    organization_id: uuid.UUID | None = Field(description="Set for organizations' listings")
    name: str | None = Field(description="The organization's name")
    person: PersonSummary | None = Field(
        default=None,
        description="For a person's listing: who they are as others see them (their public "
        "profile is `GET /v1/people/{id}`)",
    )


class EwcRead(BaseModel):
    code: str
    description: str
    hazardous: bool


class ListingModeration(BaseModel):
    hidden_at: Timestamp | None
    hidden_reason: str | None
    review_approved_at: Timestamp | None


class ListingPhotoRef(BaseModel):
    url: str = Field(
        description="The first photo's smallest rendition (resolve against the API's base URL); "
        "`GET /v1/listings/{id}/photos` lists them all",
        examples=["/v1/photos/0b8f2f7e-3c1a-4d0e-9a57-2f4c1d6b8e90/320.webp"],
    )
    alt: str | None = Field(description="What the photo shows, for screen readers")


class ListingRead(BaseModel):
    """A listing as the caller may see it. ``location`` is exact for the owner and for
    organizations' listings, and about 400 m off (``location_precision: approximate``) for
    everyone else's view of a person's listing."""

    id: uuid.UUID
    kind: ListingKind
    mode: ListingMode | None
    status: ListingStatus
    title: str
    description: str
    category: str | None
    ewc: EwcRead | None
    quantity: DecimalNumber | None
    quantity_available: DecimalNumber | None = Field(
        description="What is left to ask for: the quantity minus what requests, agreements and "
        "handovers hold (null for kinds without a quantity). Loans and rentals never take from "
        "it; their availability is per period (`/availability`)."
    )
    unit: QuantityUnit | None
    price_nok: DecimalNumber | None
    weight_kg: DecimalNumber | None
    details: dict[str, Any]
    kommune: PlaceName
    fylke: PlaceName
    owner: ListingOwner
    photo: ListingPhotoRef | None = Field(description="The first photo; null without photos")
    created_at: Timestamp
    updated_at: Timestamp
    published_at: Timestamp | None
    expires_at: Timestamp | None
    location: Point
    location_precision: Literal["exact", "approximate"]
    actions: list[str] = Field(
        description="What the caller may do next, sorted: `request` (start a transaction: "
        "signed in, not the owner, the listing active with something left), and for its "
        "managers `update` and the lifecycle's `publish`, `reserve`, `unreserve`, `complete`, "
        "`withdraw`, `renew`; `approve` and `unhide` for moderators. Empty for anonymous "
        "readers.",
        examples=[["request"], ["complete", "reserve", "renew", "update", "withdraw"]],
    )
    distance_m: float | None = Field(
        default=None, description="Search with lat/lon only: metres from that point"
    )
    moderation: ListingModeration | None = Field(
        default=None, description="Only for the owner and moderators"
    )


class ListingPage(BaseModel):
    items: list[ListingRead]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )


class FeatureLink(BaseModel):
    rel: str
    href: str
    type: str


class ListingFeatureCollection(BaseModel):
    """RFC 7946 FeatureCollection (``Accept: application/geo+json``)."""

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]
    links: list[FeatureLink] = Field(description="`next` when another page follows")
    next_cursor: str | None
