"""All ORM models, imported here so that ``Base.metadata`` knows every table (Alembic)."""

from app.models.base import Base
from app.models.geography import Fylke, Kommune, KommunePart
from app.models.reference import ReferenceDataset

__all__ = ["Base", "Fylke", "Kommune", "KommunePart", "ReferenceDataset"]
