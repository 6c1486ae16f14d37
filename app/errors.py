"""Every error Sirkel returns is an RFC 9457 problem (``application/problem+json``).

The exception tree::

    AppError                          500 internal_error (base; never raised bare)
    ├── InvalidInputError             422 invalid_input
    │   ├── InvalidCursorError        422 invalid_cursor
    │   ├── UnknownKommuneError       422 unknown_kommune
    │   ├── UnknownFylkeError         422 unknown_fylke
    │   ├── UnknownCategoryError      422 unknown_category
    │   ├── UnknownEwcCodeError       422 unknown_ewc_code
    │   ├── PointOutsideNorwayError   422 outside_norway (a listing's point)
    │   ├── InvalidTileError          422 invalid_tile
    │   ├── OwnListingError           422 own_listing
    │   ├── NotTransactableError      422 listing_not_transactable
    │   ├── InvalidPeriodError        422 invalid_period (a booking's, an impact query's)
    │   ├── UnknownIndicatorError     422 unknown_indicator
    │   ├── InvalidGroupingError      422 invalid_grouping
    │   ├── UnknownRepairEventError   422 unknown_repair_event
    │   ├── ForeignRepairEventError   422 event_of_another_organization
    │   ├── OrdsFileError             422 invalid_ords_file
    │   ├── OwnerAsPartnerError       422 owner_cannot_be_partner
    │   ├── UnitMismatchError         422 unit_mismatch
    │   ├── UnknownReportTargetError  422 unknown_report_target
    │   ├── OwnReportTargetError      422 own_report_target
    │   ├── ActionNotForTargetError   422 action_not_for_target
    │   ├── UnsafeWebhookUrlError     422 unsafe_webhook_url
    │   ├── UnsupportedImageError     422 unsupported_image_type
    │   ├── UndecodableImageError     422 image_undecodable
    │   ├── ImageTooLargeError        422 image_too_large (pixels; bytes are a 413)
    │   ├── AnimatedImageError        422 image_animated
    │   ├── InvalidPhotoOrderError    422 invalid_photo_order
    │   ├── InvalidTargetError        422 invalid_target
    │   ├── InvalidIdempotencyKeyError 422 invalid_idempotency_key (app.idempotency)
    │   └── IdempotencyKeyReusedError 422 idempotency_key_reused (app.idempotency)
    ├── UnauthorizedError             401 unauthorized
    │   ├── InvalidCredentialsError   401 invalid_credentials
    │   ├── InvalidTokenError         401 invalid_token
    │   ├── InvalidRefreshTokenError  401 invalid_refresh_token
    │   ├── InvalidApiKeyError        401 invalid_api_key
    │   └── AmbiguousCredentialsError 401 ambiguous_credentials
    ├── ForbiddenError                403 forbidden
    │   ├── PersonRequiredError       403 person_required
    │   ├── RoleRequiredError         403 role_required
    │   ├── NotAMemberError           403 not_a_member
    │   ├── InsufficientRoleError     403 insufficient_role
    │   ├── InsufficientScopeError    403 insufficient_scope
    │   ├── WrongOrganizationError    403 wrong_organization
    │   ├── NotListingOwnerError      403 not_listing_owner
    │   ├── WrongPartyError           403 wrong_party
    │   ├── BlockedError              403 blocked
    │   └── NotInInitiativeError      403 not_in_initiative
    ├── NotFoundError                 404 not_found
    │   ├── KommuneNotFoundError      404 kommune_not_found
    │   ├── FylkeNotFoundError        404 fylke_not_found
    │   ├── OutsideNorwayError        404 outside_norway
    │   ├── OrganizationNotFoundError 404 organization_not_found
    │   ├── PersonNotFoundError       404 person_not_found
    │   ├── MemberNotFoundError       404 member_not_found
    │   ├── ApiKeyNotFoundError       404 api_key_not_found
    │   ├── CategoryNotFoundError     404 category_not_found
    │   ├── ListingNotFoundError      404 listing_not_found
    │   ├── RepairEventNotFoundError  404 repair_event_not_found
    │   ├── RepairNotFoundError       404 repair_not_found
    │   ├── TransactionNotFoundError  404 transaction_not_found
    │   ├── InitiativeNotFoundError   404 initiative_not_found
    │   ├── ReportNotFoundError       404 report_not_found
    │   ├── WebhookNotFoundError      404 webhook_not_found
    │   ├── DeliveryNotFoundError     404 delivery_not_found
    │   ├── ReviewNotFoundError       404 review_not_found
    │   ├── PhotoNotFoundError        404 photo_not_found
    │   ├── TargetNotFoundError       404 target_not_found
    │   ├── ImportNotFoundError       404 import_not_found
    │   └── GlyphsNotFoundError       404 glyphs_not_found
    ├── NotAcceptableError            406 not_acceptable
    ├── ConflictError                 409 conflict
    │   ├── EmailTakenError           409 email_taken
    │   ├── OrgnrTakenError           409 organisasjonsnummer_taken
    │   ├── AlreadyMemberError        409 already_member
    │   ├── LastOwnerError            409 last_owner
    │   ├── MunicipalityTakenError    409 municipality_taken
    │   ├── InvalidTransitionError    409 invalid_transition
    │   ├── ListingClosedError        409 listing_closed
    │   ├── ListingNotAvailableError  409 listing_not_available
    │   ├── BookingConflictError      409 booking_conflict
    │   ├── RepairNotEditableError    409 repair_not_editable
    │   ├── InsufficientQuantityError 409 insufficient_quantity
    │   ├── OtherInitiativeError      409 tagged_with_another_initiative
    │   ├── TransactionDisputedError  409 transaction_disputed
    │   ├── AlreadyReportedError      409 already_reported
    │   ├── ReportDecidedError        409 report_already_decided
    │   ├── ConversationClosedError   409 conversation_closed
    │   ├── TooManyWebhooksError      409 too_many_webhooks
    │   ├── DeliveryDeliveredError    409 delivery_already_delivered
    │   ├── ReviewNotOpenError        409 review_not_open
    │   ├── ReviewWindowClosedError   409 review_window_closed
    │   ├── AlreadyReviewedError      409 already_reviewed
    │   ├── AlreadyRepliedError       409 already_replied
    │   ├── TooManyPhotosError        409 too_many_photos
    │   ├── TargetChangedError        409 target_changed
    │   ├── ImportInProgressError     409 import_in_progress
    │   ├── IdempotencyInProgressError 409 idempotency_in_progress (app.idempotency)
    │   ├── IdempotencyKeyConsumedError 409 idempotency_key_consumed (app.idempotency)
    │   └── IdempotencyKeyAppliedError 409 idempotency_key_applied (app.idempotency)
    ├── RequestTimeoutError           408 request_timeout (app.middleware)
    ├── PayloadTooLargeError          413 payload_too_large
    ├── UnsupportedMediaTypeError     415 unsupported_media_type
    ├── TooManyAttemptsError          429 too_many_attempts
    │   └── RateLimitedError          429 rate_limited (app.ratelimit)
    ├── EmbedAssetsMissingError       503 embed_assets_missing (npm ci in web/ not run)
    ├── PdfUnavailableError           503 pdf_unavailable (no Chromium, or it failed or timed out)
    └── ServiceUnavailableError       503 service_unavailable (the database is unreachable)
        ├── NotReadyError             503 not_ready
        └── BusyError                 503 busy (a statement ran out of time)

Services and repositories raise these; one handler renders them (``app.problems``, which
also renders the middleware's problems). Framework errors (request validation, Starlette's
``HTTPException`` for unknown paths and wrong methods, anything unhandled) are rendered in the
same shape, each with a stable ``code``: the generic class's for its status, or the few of
``_HTTP_CODES`` below. The body always has ``type``, ``title``, ``status``, ``code``,
``request_id`` and ``instance``; ``detail`` when there is something to say; ``errors`` for
422 validation.

This module is the bottom room: it imports nothing of Sirkel's, so every layer can raise.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "/problems/"


class FieldError(BaseModel):
    """One failed field of a 422 response."""

    location: str = Field(description="Where the field was: body, query, path, header or cookie")
    field: str = Field(description="Dotted path of the field inside that location ('' = all)")
    message: str
    type: str = Field(description="Machine-readable error type, e.g. missing, float_parsing")


class Problem(BaseModel):
    """RFC 9457 problem details, with Sirkel's stable ``code`` extension member."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "/problems/kommune_not_found",
                "title": "Kommune not found",
                "status": 404,
                "detail": "No kommune has the number 9999.",
                "instance": "/v1/kommuner/9999",
                "code": "kommune_not_found",
                "request_id": "4f1c0d2a9b7e4a0c8d6f1e2b3a4c5d6e",
            }
        }
    )

    type: str = Field(description="URI reference identifying the problem type")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request path")
    code: str = Field(description="Stable snake_case identifier to branch on")
    request_id: str | None = Field(default=None, description="Echoes the X-Request-ID header")
    errors: list[FieldError] | None = Field(default=None, description="Field errors (422 only)")


class AppError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal server error"
    # Most errors undo the request's writes. A few are the outcome of a write that must stay:
    # a failed login is counted, a reused refresh token revokes its session. For those the
    # request transaction is committed before the problem is sent (see app.db.get_session).
    persist_changes: ClassVar[bool] = False
    # Response headers every instance carries (a challenge, a retry hint); ``headers`` given to
    # the constructor are added on top.
    default_headers: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.headers = {**self.default_headers, **(headers or {})}
        self.extra = extra or {}


class InvalidInputError(AppError):
    status_code = 422
    code = "invalid_input"
    title = "Invalid input"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, headers=headers)
        self.errors = errors

    @classmethod
    def for_field(
        cls,
        detail: str,
        *,
        field: str,
        message: str,
        type: str = "value_error",
        location: str = "body",
    ) -> Self:
        """The error with one field error: where the field was, what is wrong with it."""
        return cls(
            detail,
            errors=[FieldError(location=location, field=field, message=message, type=type)],
        )


class EmptySearchAreaError(InvalidInputError):
    code = "empty_search_area"
    title = "The search's circle and box do not overlap"


class InvalidMatchOfError(InvalidInputError):
    code = "invalid_match_of"
    title = "match_of is not a wanted listing of yours of this kind"


class InvalidCursorError(InvalidInputError):
    code = "invalid_cursor"
    title = "Invalid cursor"


class UnknownKommuneError(InvalidInputError):
    code = "unknown_kommune"
    title = "Unknown kommune"

    @classmethod
    def for_number(
        cls, kommunenummer: str | None, *, location: str = "body", field: str = "kommunenummer"
    ) -> Self:
        return cls.for_field(
            f"No kommune has the number {kommunenummer}.",
            location=location,
            field=field,
            message="Unknown kommune",
            type="unknown_kommune",
        )


class UnknownFylkeError(InvalidInputError):
    code = "unknown_fylke"
    title = "Unknown fylke"


class UnknownCategoryError(InvalidInputError):
    code = "unknown_category"
    title = "Unknown category"


class UnknownEwcCodeError(InvalidInputError):
    code = "unknown_ewc_code"
    title = "Not a code of the European List of Waste"


class PointOutsideNorwayError(InvalidInputError):
    """A point in a request body (a listing's location) that no kommune holds: unlike the
    lookup's 404, the request itself is wrong."""

    code = "outside_norway"
    title = "Point is outside Norway"


class InvalidTileError(InvalidInputError):
    code = "invalid_tile"
    title = "No such tile"


class OwnListingError(InvalidInputError):
    code = "own_listing"
    title = "A transaction needs two parties; this listing is the caller's own"


class NotTransactableError(InvalidInputError):
    code = "listing_not_transactable"
    title = "This listing does not start transactions"


class InvalidPeriodError(InvalidInputError):
    code = "invalid_period"
    title = "The period is not valid"


class UnknownIndicatorError(InvalidInputError):
    code = "unknown_indicator"
    title = "No indicator has this id"


class InvalidGroupingError(InvalidInputError):
    code = "invalid_grouping"
    title = "This grouping is not available"


class UnknownRepairEventError(InvalidInputError):
    code = "unknown_repair_event"
    title = "Unknown repair event"


class ForeignRepairEventError(InvalidInputError):
    code = "event_of_another_organization"
    title = "The repair event belongs to another organization"


class OrdsFileError(InvalidInputError):
    """The upload cannot be read as an ORDS file at all: not UTF-8 text, no header or the
    wrong columns, broken CSV quoting, or more rows than allowed. Errors in single rows are not
    raised; an import job counts them and keeps the first 100 (app.services.repair_import)."""

    code = "invalid_ords_file"
    title = "Invalid ORDS file"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidCatalogueRowsError(InvalidInputError):
    """Rows of an uploaded catalogue are invalid: ``errors`` lists them (up to a limit), each
    with its ``line`` and ``column``; ``error_count`` says how many there were in all."""

    code = "invalid_catalogue_rows"
    title = "Rows of the catalogue are invalid"

    def __init__(self, detail: str, *, rows: list[dict[str, Any]], error_count: int) -> None:
        super().__init__(detail)
        self.extra = {"errors": rows, "error_count": error_count}


class CatalogueFileError(InvalidInputError):
    """The upload cannot be read as a catalogue at all: not UTF-8 text, no header or unknown
    or missing columns, broken CSV quoting, or more rows than allowed."""

    code = "invalid_catalogue_file"
    title = "Invalid catalogue file"


class OwnerAsPartnerError(InvalidInputError):
    """The database refuses an initiative's owner as its own partner
    (``initiative_partners_not_owner``)."""

    code = "owner_cannot_be_partner"
    title = "The initiative's owner cannot also be its partner"


class UnitMismatchError(InvalidInputError):
    code = "unit_mismatch"
    title = "The unit does not fit the listing"


class InvalidIdempotencyKeyError(InvalidInputError):
    code = "invalid_idempotency_key"
    title = "Invalid Idempotency-Key"


class IdempotencyKeyReusedError(InvalidInputError):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused for another request"


class UnknownReportTargetError(InvalidInputError):
    """The reported listing, photo, review or person does not exist, or the reporter cannot
    see it (a hidden listing is as unknown to a stranger as a missing one)."""

    code = "unknown_report_target"
    title = "Nothing to report with that type and id"


class OwnReportTargetError(InvalidInputError):
    code = "own_report_target"
    title = "You cannot report yourself or what is yours"


class ActionNotForTargetError(InvalidInputError):
    code = "action_not_for_target"
    title = "That moderation action does not apply to this report's target"


class UnsafeWebhookUrlError(InvalidInputError):
    """Not https, or a host that resolves to a loopback, private, link-local or reserved
    address (``app.outbound``)."""

    code = "unsafe_webhook_url"
    title = "Sirkel does not call that URL"


class UnsupportedImageError(InvalidInputError):
    """The upload is not a JPEG, PNG, WebP or HEIC/HEIF image (sniffed from its bytes)."""

    code = "unsupported_image_type"
    title = "Not a supported image"


class UndecodableImageError(InvalidInputError):
    code = "image_undecodable"
    title = "The image cannot be decoded"


class ImageTooLargeError(InvalidInputError):
    """More pixels than the limit (a decompression bomb, or simply too big)."""

    code = "image_too_large"
    title = "The image has too many pixels"


class AnimatedImageError(InvalidInputError):
    code = "image_animated"
    title = "Animated images are not accepted"


class InvalidTargetError(InvalidInputError):
    code = "invalid_target"
    title = "Not a target this indicator and scope can have"


class InvalidPhotoOrderError(InvalidInputError):
    code = "invalid_photo_order"
    title = "The order must name each of the listing's photos once"


class UnauthorizedError(AppError):
    status_code = 401
    code = "unauthorized"
    title = "Authentication required"
    default_headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class InvalidCredentialsError(UnauthorizedError):
    code = "invalid_credentials"
    title = "Wrong e-mail or password"
    persist_changes = True


class InvalidTokenError(UnauthorizedError):
    code = "invalid_token"
    title = "Invalid or expired access token"
    default_headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class InvalidRefreshTokenError(UnauthorizedError):
    code = "invalid_refresh_token"
    title = "Invalid, expired or revoked refresh token"
    persist_changes = True


class InvalidApiKeyError(UnauthorizedError):
    code = "invalid_api_key"
    title = "Unknown or revoked API key"
    default_headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "ApiKey"}


class AmbiguousCredentialsError(UnauthorizedError):
    code = "ambiguous_credentials"
    title = "Send either a bearer token or an API key, not both"


class ForbiddenError(AppError):
    status_code = 403
    code = "forbidden"
    title = "Forbidden"


class PersonRequiredError(ForbiddenError):
    code = "person_required"
    title = "Only a signed-in person can do this"


class RoleRequiredError(ForbiddenError):
    code = "role_required"
    title = "A platform role is required"


class NotAMemberError(ForbiddenError):
    code = "not_a_member"
    title = "Not a member of this organization"


class InsufficientRoleError(ForbiddenError):
    code = "insufficient_role"
    title = "Your role in this organization does not allow this"


class InsufficientScopeError(ForbiddenError):
    code = "insufficient_scope"
    title = "The API key lacks the scope for this"


class WrongOrganizationError(ForbiddenError):
    code = "wrong_organization"
    title = "The API key belongs to another organization"


class NotListingOwnerError(ForbiddenError):
    code = "not_listing_owner"
    title = "Only the listing's owner can do this"


class WrongPartyError(ForbiddenError):
    code = "wrong_party"
    title = "This move belongs to another party"


class MembersOnlyError(ForbiddenError):
    code = "members_only"
    title = "Only the library's members may book this listing"


class BlockedError(ForbiddenError):
    """One of the two persons blocked the other: no new requests, no new messages."""

    code = "blocked"
    title = "One of you blocked the other"


class NotInInitiativeError(ForbiddenError):
    """Only what belongs to (or was done by) an organization that is the initiative's owner or
    one of its partners can be tagged with it."""

    code = "not_in_initiative"
    title = "The organization is neither the initiative's owner nor a partner"


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class GlyphsNotFoundError(NotFoundError):
    code = "glyphs_not_found"
    title = "No such glyph range"


class SavedSearchNotFoundError(NotFoundError):
    code = "saved_search_not_found"
    title = "Saved search not found"


class KommuneNotFoundError(NotFoundError):
    code = "kommune_not_found"
    title = "Kommune not found"


class FylkeNotFoundError(NotFoundError):
    code = "fylke_not_found"
    title = "Fylke not found"


class OutsideNorwayError(NotFoundError):
    code = "outside_norway"
    title = "Point is outside Norway"


class OrganizationNotFoundError(NotFoundError):
    code = "organization_not_found"
    title = "Organization not found"


class PersonNotFoundError(NotFoundError):
    code = "person_not_found"
    title = "No person with that e-mail"


class MemberNotFoundError(NotFoundError):
    code = "member_not_found"
    title = "Not a member of this organization"


class ApiKeyNotFoundError(NotFoundError):
    code = "api_key_not_found"
    title = "API key not found"


class CategoryNotFoundError(NotFoundError):
    code = "category_not_found"
    title = "Category not found"


class ListingNotFoundError(NotFoundError):
    code = "listing_not_found"
    title = "Listing not found"


class UnitNotFoundError(NotFoundError):
    code = "unit_not_found"
    title = "The listing has no such unit"


class LibraryMemberNotFoundError(NotFoundError):
    code = "library_member_not_found"
    title = "No such member of the library"


class HoldNotFoundError(NotFoundError):
    code = "hold_not_found"
    title = "Hold not found"


class RepairEventNotFoundError(NotFoundError):
    code = "repair_event_not_found"
    title = "Repair event not found"


class RepairNotFoundError(NotFoundError):
    code = "repair_not_found"
    title = "Repair not found"


class TransactionNotFoundError(NotFoundError):
    code = "transaction_not_found"
    title = "Transaction not found"


class InitiativeNotFoundError(NotFoundError):
    code = "initiative_not_found"
    title = "Initiative not found"


class ReportNotFoundError(NotFoundError):
    code = "report_not_found"
    title = "Report not found"


class WebhookNotFoundError(NotFoundError):
    code = "webhook_not_found"
    title = "Webhook not found"


class DeliveryNotFoundError(NotFoundError):
    code = "delivery_not_found"
    title = "Delivery not found"


class ReviewNotFoundError(NotFoundError):
    code = "review_not_found"
    title = "Review not found"


class TargetNotFoundError(NotFoundError):
    code = "target_not_found"
    title = "Target not found"


class ImportNotFoundError(NotFoundError):
    code = "import_not_found"
    title = "Import not found"


class PhotoNotFoundError(NotFoundError):
    code = "photo_not_found"
    title = "Photo not found"


class NotAcceptableError(AppError):
    status_code = 406
    code = "not_acceptable"
    title = "Not acceptable"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class EmailTakenError(ConflictError):
    code = "email_taken"
    title = "E-mail address already registered"


class OrgnrTakenError(ConflictError):
    code = "organisasjonsnummer_taken"
    title = "Organisasjonsnummer already registered"


class AlreadyMemberError(ConflictError):
    code = "already_member"
    title = "Already a member"


class LastOwnerError(ConflictError):
    code = "last_owner"
    title = "An organization must keep an owner"


class MunicipalityTakenError(ConflictError):
    code = "municipality_taken"
    title = "The kommune already has a verified municipality organization"


class InvalidTransitionError(ConflictError):
    code = "invalid_transition"
    title = "Not allowed in the current status"


class ListingClosedError(ConflictError):
    code = "listing_closed"
    title = "The listing is completed or withdrawn and can no longer change"


class ListingNotAvailableError(ConflictError):
    code = "listing_not_available"
    title = "The listing is not available"


class TooManySavedSearchesError(ConflictError):
    code = "too_many_saved_searches"
    title = "The owner already keeps the most saved searches allowed"


class ListingNotMatchableError(ConflictError):
    code = "listing_not_matchable"
    title = "The listing has no matches (a repair service, or closed)"


class BookingConflictError(ConflictError):
    code = "booking_conflict"
    title = "The period overlaps another booking"


class CatalogueRefTakenError(ConflictError):
    code = "catalogue_ref_taken"
    title = "Another of the organization's listings has this catalogue number"


class ListingNotHoldableError(ConflictError):
    code = "listing_not_holdable"
    title = "Only an active listing of items to lend or rent takes holds"


class ListingAvailableError(ConflictError):
    code = "listing_available"
    title = "A unit is free now: ask for it rather than queue"


class AlreadyHoldingError(ConflictError):
    code = "already_holding"
    title = "You already hold this listing"


class NotALibraryError(ConflictError):
    code = "not_a_library"
    title = "Only a library of things has members"


class AlreadyLibraryMemberError(ConflictError):
    code = "already_library_member"
    title = "You are already a member of this library"


class HoldWaitingError(ConflictError):
    code = "hold_waiting"
    title = "Someone waits in the listing's queue: the loan cannot be renewed"


class HoldNotReadyError(ConflictError):
    code = "hold_not_ready"
    title = "The hold is not ready for pickup (still waiting, or closed)"


class RenewalLimitReachedError(ConflictError):
    code = "renewal_limit_reached"
    title = "The booking was renewed as often as its listing allows"


class RenewalConflictError(ConflictError):
    code = "renewal_conflict"
    title = "The unit is booked by someone else in the extended period"


class RepairNotEditableError(ConflictError):
    """Repairs reported through a transaction are corrected through it; imported ones are
    another provider's published data."""

    code = "repair_not_editable"
    title = "Only repairs logged here can be changed here"


class InsufficientQuantityError(ConflictError):
    code = "insufficient_quantity"
    title = "Not that much is left"


class OtherInitiativeError(ConflictError):
    """A listing, transaction or repair event carries at most one initiative."""

    code = "tagged_with_another_initiative"
    title = "Already tagged with another initiative"


class TransactionDisputedError(ConflictError):
    """A disputed transaction is counted again, as it was, if a moderator upholds it; it keeps
    its initiative until then."""

    code = "transaction_disputed"
    title = "A disputed transaction keeps its initiative until a moderator decides"


class AlreadyReportedError(ConflictError):
    code = "already_reported"
    title = "You already reported this, and the report is still open"


class ReportDecidedError(ConflictError):
    code = "report_already_decided"
    title = "The report was already actioned or dismissed"


class ConversationClosedError(ConflictError):
    code = "conversation_closed"
    title = "The conversation closed after its transaction ended"


class TooManyWebhooksError(ConflictError):
    code = "too_many_webhooks"
    title = "The organization has as many webhooks as it may"


class DeliveryDeliveredError(ConflictError):
    code = "delivery_already_delivered"
    title = "The delivery was already delivered"


class ReviewNotOpenError(ConflictError):
    code = "review_not_open"
    title = "Reviews open when the handover is confirmed"


class ReviewWindowClosedError(ConflictError):
    code = "review_window_closed"
    title = "The time to review this transaction is over"


class AlreadyReviewedError(ConflictError):
    code = "already_reviewed"
    title = "Your side has reviewed this transaction already"


class AlreadyRepliedError(ConflictError):
    code = "already_replied"
    title = "The review was answered already"


class TargetChangedError(ConflictError):
    code = "target_changed"
    title = "The target changed meanwhile"


class ImportInProgressError(ConflictError):
    code = "import_in_progress"
    title = "An import of this organization is still running"


class TooManyPhotosError(ConflictError):
    code = "too_many_photos"
    title = "The listing has as many photos as it may"


class IdempotencyInProgressError(ConflictError):
    code = "idempotency_in_progress"
    title = "A request with this Idempotency-Key is still running"
    default_headers: ClassVar[dict[str, str]] = {"Retry-After": "1"}


class IdempotencyKeyConsumedError(ConflictError):
    code = "idempotency_key_consumed"
    title = "Already done; the response held a secret"


class IdempotencyKeyAppliedError(ConflictError):
    """The first request's effect committed, but its response was lost (the server failed
    after the commit, or crashed before storing it): it is not run again."""

    code = "idempotency_key_applied"
    title = "Already done; the response was lost"


class RequestTimeoutError(AppError):
    status_code = 408
    code = "request_timeout"
    title = "The request body was not sent in time"


class PayloadTooLargeError(AppError):
    status_code = 413
    code = "payload_too_large"
    title = "Request body too large"


class UnsupportedMediaTypeError(AppError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class TooManyAttemptsError(AppError):
    status_code = 429
    code = "too_many_attempts"
    title = "Too many failed attempts"

    def __init__(self, detail: str | None = None, *, retry_after_s: int) -> None:
        super().__init__(
            detail,
            headers={"Retry-After": str(retry_after_s)},
            extra={"retry_after": retry_after_s},
        )


class RateLimitedError(TooManyAttemptsError):
    """A route's request budget for this caller is spent (``app.ratelimit``)."""

    code = "rate_limited"
    title = "Too many requests"


class EmbedAssetsMissingError(AppError):
    status_code = 503
    code = "embed_assets_missing"
    title = "The map's browser assets are not installed"


class PdfUnavailableError(AppError):
    """Chromium is not installed, crashed, or did not finish in time: the HTML report is
    still there (the same path without ``.pdf``)."""

    status_code = 503
    code = "pdf_unavailable"
    title = "The PDF could not be made"


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "service_unavailable"
    title = "Service unavailable"
    default_headers: ClassVar[dict[str, str]] = {"Retry-After": "5"}


class BusyError(ServiceUnavailableError):
    """A statement hit the statement timeout (or waited too long for a lock): nothing was
    changed; try again shortly."""

    code = "busy"
    title = "Too busy to finish that now"
    default_headers: ClassVar[dict[str, str]] = {"Retry-After": "2"}


class NotReadyError(ServiceUnavailableError):
    code = "not_ready"
    title = "Not ready"


# Framework errors (Starlette's HTTPException, request validation) are rendered with the code
# and title of the generic class for their status; statuses that no class of the tree has get
# their own entries here.
_HTTP_CODES: dict[int, tuple[str, str]] = {
    **{
        error.status_code: (error.code, error.title)
        for error in (
            UnauthorizedError,
            ForbiddenError,
            NotFoundError,
            NotAcceptableError,
            ConflictError,
            PayloadTooLargeError,
            UnsupportedMediaTypeError,
            AppError,
            ServiceUnavailableError,
        )
    },
    400: ("bad_request", "Bad request"),
    405: ("method_not_allowed", "Method not allowed"),
    422: ("validation_failed", "Validation failed"),
    429: ("too_many_requests", "Too many requests"),
}


def http_problem(status: int) -> tuple[str, str]:
    """The ``(code, title)`` of a framework error with this HTTP status."""
    return _HTTP_CODES.get(status, (f"http_{status}", HTTPStatus(status).phrase))


def problem_responses(*errors: type[AppError] | int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the problems a route can return.

    Pass ``AppError`` subclasses (their status, code and title become the documented example)
    or bare status codes for framework errors (422 validation, 413 …).
    """
    by_status: dict[int, list[tuple[str, str]]] = {}
    for err in errors:
        if isinstance(err, int):
            by_status.setdefault(err, []).append(http_problem(err))
        else:
            by_status.setdefault(err.status_code, []).append((err.code, err.title))
    out: dict[int | str, dict[str, Any]] = {}
    for status, entries in sorted(by_status.items()):
        examples = {
            code: {
                "summary": title,
                "value": {
                    "type": f"{PROBLEM_TYPE_PREFIX}{code}",
                    "title": title,
                    "status": status,
                    "code": code,
                    "request_id": "4f1c0d2a9b7e4a0c8d6f1e2b3a4c5d6e",
                },
            }
            for code, title in entries
        }
        out[status] = {
            "description": ", ".join(f"`{code}`" for code, _ in entries),
            "content": {PROBLEM_MEDIA_TYPE: {"examples": examples}},
        }
    return out
