"""All ORM models, imported here so that ``Base.metadata`` knows every table (Alembic)."""

from app.models.base import Base
from app.models.block import Block
from app.models.category import Category, OrdsCategory, ReuseFactor
from app.models.evidence import Evidence
from app.models.geography import Fylke, Kommune, KommunePart
from app.models.hold import Hold
from app.models.idempotency import IdempotencyRecord
from app.models.impact import (
    ImpactCell,
    ImpactCollaboration,
    ImpactFactor,
    ImpactFactorRevision,
    ImpactLevel,
    ImpactParty,
    OrganizationParty,
)
from app.models.initiative import Initiative, InitiativeKommune, InitiativePartner
from app.models.library_member import LibraryMember
from app.models.listing import Listing, PrivacyKey
from app.models.message import Message, ReadMarker
from app.models.organization import ApiKey, Membership, Organization
from app.models.outbox import (
    Delivery,
    Notification,
    NotificationSetting,
    OutboxCursor,
    OutboxEvent,
    Webhook,
)
from app.models.person import AuthSession, LoginFailure, Person, RefreshToken
from app.models.photo import ListingPhoto
from app.models.reference import ReferenceDataset
from app.models.repair import Repair, RepairEvent
from app.models.repair_import import RepairImport, RepairImportRow
from app.models.report import Report, ReportEvent
from app.models.review import Review
from app.models.saved_search import ListingMatch, SavedSearch, SavedSearchHit
from app.models.target import ImpactTarget
from app.models.tile_cell import ListingTileCell
from app.models.transaction import Transaction, TransactionTransition
from app.models.unit import UnitOutOfService
from app.models.waste import EwcChapter, EwcCode

__all__ = [
    "ApiKey",
    "AuthSession",
    "Base",
    "Block",
    "Category",
    "Delivery",
    "Evidence",
    "EwcChapter",
    "EwcCode",
    "Fylke",
    "Hold",
    "IdempotencyRecord",
    "ImpactCell",
    "ImpactCollaboration",
    "ImpactFactor",
    "ImpactFactorRevision",
    "ImpactLevel",
    "ImpactParty",
    "ImpactTarget",
    "Initiative",
    "InitiativeKommune",
    "InitiativePartner",
    "Kommune",
    "KommunePart",
    "LibraryMember",
    "Listing",
    "ListingMatch",
    "ListingPhoto",
    "ListingTileCell",
    "LoginFailure",
    "Membership",
    "Message",
    "Notification",
    "NotificationSetting",
    "OrdsCategory",
    "Organization",
    "OrganizationParty",
    "OutboxCursor",
    "OutboxEvent",
    "Person",
    "PrivacyKey",
    "ReadMarker",
    "ReferenceDataset",
    "RefreshToken",
    "Repair",
    "RepairEvent",
    "RepairImport",
    "RepairImportRow",
    "Report",
    "ReportEvent",
    "ReuseFactor",
    "Review",
    "SavedSearch",
    "SavedSearchHit",
    "Transaction",
    "TransactionTransition",
    "UnitOutOfService",
    "Webhook",
]
