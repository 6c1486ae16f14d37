"""E-mails of the outbox's events: plain text plus HTML from templates
(``templates/email/``), in the reader's language, with RFC 8058 one-click unsubscribe.

The HTML template is autoescaped; the plain-text one is not (it is not markup). The subject is
the notification's title, so an e-mail and the in-app notification say the same.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.models.outbox import EventType, category_of
from app.render.notifications import notification_title

_TEMPLATES = Environment(
    loader=PackageLoader("app.render", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

_WORDS = {
    "nb": {
        "greeting": "Hei {name}!",
        "greeting_anonymous": "Hei!",
        "body": "Åpne Sirkel for å se mer og svare.",
        "footer": "Du får denne e-posten fordi du bruker Sirkel.",
        "unsubscribe": "Slutt å få e-post om dette",
    },
    "en": {
        "greeting": "Hi {name}!",
        "greeting_anonymous": "Hi!",
        "body": "Open Sirkel to see more and to answer.",
        "footer": "You get this e-mail because you use Sirkel.",
        "unsubscribe": "Stop e-mails about this",
    },
}


def notification_email(
    *,
    message_id: str,
    event_type: EventType,
    to: str,
    name: str | None,
    language: str,
    listing_title: str | None,
    sender: str,
    unsubscribe_url: str,
    now: datetime,
) -> EmailMessage:
    words = _WORDS["en" if language == "en" else "nb"]
    title = notification_title(event_type, listing_title=listing_title, language=language)
    context = {
        "language": "en" if language == "en" else "nb",
        "greeting": words["greeting"].format(name=name) if name else words["greeting_anonymous"],
        "title": title,
        "body": words["body"],
        "footer": words["footer"],
        "unsubscribe_label": words["unsubscribe"],
        "unsubscribe_url": unsubscribe_url,
    }
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((name or "", to))
    message["Subject"] = title
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Sirkel-Event"] = f"{event_type.value}; category={category_of(event_type).value}"
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(_TEMPLATES.get_template("email/notification.txt").render(context))
    message.add_alternative(
        _TEMPLATES.get_template("email/notification.html").render(context), subtype="html"
    )
    # After the content: ``set_content`` replaces every Content-* header.
    message["Content-Language"] = context["language"]
    return message
