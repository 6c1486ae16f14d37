"""The words of a notification, in bokmål or English: one line per event type, with the
listing's current title where the event is about a listing."""

from __future__ import annotations

from app.models.outbox import EventType

# (bokmål, English); ``{title}`` is the listing's title in quotes, or a neutral word.
TITLES: dict[EventType, tuple[str, str]] = {
    EventType.TRANSACTION_REQUESTED: ("Ny forespørsel på {title}", "New request for {title}"),
    EventType.TRANSACTION_ACCEPTED: ("Forespørselen på {title} er godtatt",
                                     "Your request for {title} was accepted"),
    EventType.TRANSACTION_DECLINED: ("Forespørselen på {title} ble avslått",
                                     "Your request for {title} was declined"),
    EventType.TRANSACTION_CANCELLED: ("Avtalen om {title} ble avlyst",
                                      "The arrangement for {title} was cancelled"),
    EventType.TRANSACTION_EXPIRED: ("Forespørselen på {title} gikk ut",
                                    "The request for {title} expired"),
    EventType.TRANSACTION_PICKED_UP: ("{title} er hentet", "{title} was picked up"),
    EventType.TRANSACTION_OVERDUE: ("{title} skulle vært levert tilbake",
                                    "{title} is overdue"),
    EventType.TRANSACTION_RETURNED: ("{title} er levert tilbake", "{title} was returned"),
    EventType.TRANSACTION_COMPLETED: ("{title} er overlevert, bekreft gjerne",
                                      "{title} was handed over; please confirm"),
    EventType.TRANSACTION_CONFIRMED: ("Overleveringen av {title} er bekreftet",
                                      "The handover of {title} was confirmed"),
    EventType.TRANSACTION_DISPUTED: ("Overleveringen av {title} er bestridt",
                                     "The handover of {title} is disputed"),
    EventType.TRANSACTION_DUE_SOON: ("{title} skal leveres tilbake innen et døgn",
                                     "{title} is due back within a day"),
    EventType.HOLD_READY: ("{title} er klar til henting: du står først i køen",
                           "{title} is ready for you: you are first in the queue"),
    EventType.HOLD_LAPSED: ("Hentefristen for {title} gikk ut",
                            "The pickup window for {title} passed"),
    EventType.TRANSACTION_RENEWED: ("Lånet av {title} er forlenget",
                                    "The booking of {title} was renewed"),
    EventType.TRANSACTION_DUE_TODAY: ("{title} skal leveres tilbake i dag",
                                      "{title} is due back today"),
    EventType.TRANSACTION_STILL_OVERDUE: ("{title} er fortsatt ikke levert tilbake",
                                          "{title} is still overdue"),
    EventType.LISTING_EXPIRING: ("{title} går ut om få dager: forny den om den fortsatt er ledig",
                                 "{title} expires in a few days: renew it if still available"),
    EventType.TRANSACTION_VOIDED: ("En moderator annullerte avtalen om {title}",
                                   "A moderator voided the arrangement for {title}"),
    EventType.MESSAGE_RECEIVED: ("Ny melding om {title}", "New message about {title}"),
    EventType.LISTING_APPROVED: ("{title} er godkjent og publisert",
                                 "{title} was approved and published"),
    EventType.LISTING_HIDDEN: ("{title} ble skjult av en moderator",
                               "{title} was hidden by a moderator"),
    EventType.LISTING_PHOTO_REMOVED: ("En moderator fjernet et bilde fra {title}",
                                      "A moderator removed a photo from {title}"),
    EventType.REPORT_ACTIONED: ("Takk! Rapporten din førte til tiltak",
                                "Thank you: your report led to action"),
    EventType.REVIEW_RECEIVED: ("Du har fått en vurdering", "You received a review"),
    EventType.WEBHOOK_DISABLED: ("En webhook ble slått av etter gjentatte feil",
                                 "A webhook was turned off after repeated failures"),
    EventType.SAVED_SEARCH_MATCHED: ("{title} passer et lagret søk",
                                     "{title} fits one of your saved searches"),
    EventType.SAVED_SEARCH_DIGEST: ("Nye treff på et lagret søk",
                                    "New listings for one of your saved searches"),
    EventType.LISTING_MATCH_FOUND: ("{title} kan dekke det du ønsker deg",
                                    "{title} could meet what you are looking for"),
}  # fmt: skip

_NO_TITLE = ("annonsen", "the listing")


def notification_title(event: EventType, *, listing_title: str | None, language: str) -> str:
    nb, en = TITLES[event]
    english = language == "en"
    title = f"“{listing_title}”" if english else f"«{listing_title}»"
    if listing_title is None:
        title = _NO_TITLE[1] if english else _NO_TITLE[0]
    text = en if english else nb
    line = text.format(title=title)
    return line[0].upper() + line[1:]
