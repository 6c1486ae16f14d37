"""The European List of Waste (EWC codes), which Norway's avfallsforskriften also uses.

``ewc_chapters`` holds the 2-digit chapter and 4-digit sub-chapter headings; ``ewc_codes`` the
842 six-digit entries, each with its ``hazardous`` flag (the asterisk of the legal list). A
material listing's ``ewc_code`` is a foreign key to ``ewc_codes``, so an unknown code cannot
be stored, and a hazardous one keeps the listing in review (see ``app.models.listing``).
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

EWC_CODE_PATTERN = r"^[0-9]{6}$"


class EwcChapter(Base):
    __tablename__ = "ewc_chapters"
    __table_args__ = (
        CheckConstraint(
            "(level = 'chapter' AND code ~ '^[0-9]{2}$') "
            "OR (level = 'subchapter' AND code ~ '^[0-9]{4}$')",
            name="code_matches_level",
        ),
        CheckConstraint("char_length(description) BETWEEN 1 AND 500", name="description_length"),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    level: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)


class EwcCode(Base):
    __tablename__ = "ewc_codes"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{6}$'", name="code_shape"),
        CheckConstraint("left(code, 4) = subchapter", name="code_in_subchapter"),
        CheckConstraint("left(subchapter, 2) = chapter", name="subchapter_in_chapter"),
        CheckConstraint("entry_type IN ('absolute', 'mirror')", name="entry_type_known"),
        CheckConstraint("char_length(description) BETWEEN 1 AND 500", name="description_length"),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    chapter: Mapped[str] = mapped_column(Text, ForeignKey("ewc_chapters.code", ondelete="RESTRICT"))
    subchapter: Mapped[str] = mapped_column(
        Text, ForeignKey("ewc_chapters.code", ondelete="RESTRICT")
    )
    description: Mapped[str] = mapped_column(Text)
    hazardous: Mapped[bool] = mapped_column(Boolean)
    entry_type: Mapped[str] = mapped_column(Text)
