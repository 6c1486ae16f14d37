"""Loading the category taxonomy, the reuse factors and the ORDS product categories: validated,
idempotent, an edited file upserted, nothing that others refer to silently deleted — and the
database itself refusing a path that does not follow the parents."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import PROJECT_ROOT
from app.models import Category, OrdsCategory, ReuseFactor
from app.services.category import descendant_slugs
from app.services.reference_data import (
    CATEGORIES_DATASET,
    CATEGORIES_FILE,
    ORDS_CATEGORIES_DATASET,
    REUSE_FACTORS_DATASET,
    REUSE_FACTORS_FILE,
    ReferenceDataError,
    load_reference_data,
)

DATA = PROJECT_ROOT / "data"
HEADER = "slug,parent_slug,name_nb,name_en,reuse_factor_category,ords_category_id,sort_order\n"
SHIPPED = (DATA / CATEGORIES_FILE).read_text(encoding="utf-8")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory with the shipped files (unchanged, so their datasets are skipped),
    where a test writes its own version of one of them."""
    for source in DATA.iterdir():
        (tmp_path / source.name).symlink_to(source)
    return tmp_path


def write(data_dir: Path, name: str, content: str) -> None:
    (data_dir / name).unlink()
    (data_dir / name).write_text(content, encoding="utf-8")


async def load_categories(session: AsyncSession, data_dir: Path, content: str) -> None:
    write(data_dir, CATEGORIES_FILE, content)
    await load_reference_data(session, data_dir=data_dir)


async def count(session: AsyncSession, model: type[Category | ReuseFactor | OrdsCategory]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_shipped_lists_are_loaded(session: AsyncSession) -> None:
    assert await count(session, Category) == SHIPPED.count("\n") - 1
    assert await count(session, ReuseFactor) == 60
    assert await count(session, OrdsCategory) == 40
    laptops = await session.get(Category, "laptops")
    assert laptops is not None
    assert laptops.path == ["electronics", "computers", "laptops"]
    assert laptops.parent_path == ["electronics", "computers"]


async def test_unchanged_files_are_skipped_and_a_forced_reload_changes_nothing(
    session: AsyncSession,
) -> None:
    report = await load_reference_data(session, data_dir=DATA)
    assert report.loaded == {}
    assert {REUSE_FACTORS_DATASET, ORDS_CATEGORIES_DATASET, CATEGORIES_DATASET} <= set(
        report.skipped
    )
    before = (await session.execute(text("SELECT * FROM categories ORDER BY slug"))).all()
    forced = await load_reference_data(session, data_dir=DATA, force=True)
    assert forced.loaded["categories"] == len(before)
    assert forced.loaded["reuse_factors"] == 60
    assert forced.loaded["ords_categories"] == 40
    after = (await session.execute(text("SELECT * FROM categories ORDER BY slug"))).all()
    assert after == before


async def test_an_edited_file_is_upserted_and_subtrees_move_with_their_parent(
    session: AsyncSession, data_dir: Path
) -> None:
    # A new level between electronics and audio-and-hifi; audio's children follow it down.
    edited = SHIPPED.replace(
        "laptops,computers,Bærbare PC-er,", "laptops,computers,Bærbare datamaskiner,"
    ).replace(
        "audio-and-hifi,electronics,",
        "home-entertainment,electronics,Hjemmeunderholdning,Home entertainment,,,55\n"
        "audio-and-hifi,home-entertainment,",
    )
    write(data_dir, CATEGORIES_FILE, edited)
    report = await load_reference_data(session, data_dir=data_dir)
    assert report.loaded == {"categories": SHIPPED.count("\n")}

    headphones = await session.scalar(select(Category.path).where(Category.slug == "headphones"))
    assert headphones == ["electronics", "home-entertainment", "audio-and-hifi", "headphones"]
    assert set(await descendant_slugs(session, slug="home-entertainment")) == {
        "home-entertainment",
        "audio-and-hifi",
        "hifi-components",
        "stereo-systems",
        "headphones",
        "radios",
    }
    name = await session.scalar(select(Category.name_nb).where(Category.slug == "laptops"))
    assert name == "Bærbare datamaskiner"

    again = await load_reference_data(session, data_dir=data_dir)
    assert again.loaded == {}
    assert CATEGORIES_DATASET in again.skipped


async def test_a_removed_category_is_refused(session: AsyncSession, data_dir: Path) -> None:
    without_toasters = "".join(
        line for line in SHIPPED.splitlines(keepends=True) if not line.startswith("toasters,")
    )
    with pytest.raises(ReferenceDataError, match=r"1 categories .* missing .*'toasters'"):
        await load_categories(session, data_dir, without_toasters)
    assert await session.get(Category, "toasters") is not None


async def test_a_removed_reuse_factor_is_refused(session: AsyncSession, data_dir: Path) -> None:
    shipped = (DATA / REUSE_FACTORS_FILE).read_text(encoding="utf-8")
    without_toaster = "".join(
        line for line in shipped.splitlines(keepends=True) if not line.startswith("Toaster,")
    )
    write(data_dir, REUSE_FACTORS_FILE, without_toaster)
    with pytest.raises(ReferenceDataError, match=r"reuse factor categories .*'Toaster'"):
        await load_reference_data(session, data_dir=data_dir)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            "a,,A,A,,,1\nb,nowhere,B,B,,,1\n",
            r"categories.csv:3: b: unknown parent 'nowhere'",
        ),
        (
            "a,c,A,A,,,1\nb,a,B,B,,,1\nc,b,C,C,,,1\n",
            r"cycle \(parent → child\): a → b → c → a",
        ),
        ("a,a,A,A,,,1\n", r"cycle \(parent → child\): a → a"),
        (
            "a,,A,A,Spaceship,,1\n",
            r"categories.csv:2: a: unknown reuse factor category 'Spaceship'",
        ),
        ("a,,A,A,Laptop medium,41,1\n", r"a: unknown ORDS product category id 41"),
        ("a,,A,A,,16,1\n", r"a: an ORDS category needs a reuse factor category"),
        ("a,,A,A,,x,1\n", r"ords_category_id 'x' is not an integer"),
        ("Sofa,,A,A,,,1\n", r"slug 'Sofa' is not lowercase ASCII kebab-case"),
        ("sofa_bed,,A,A,,,1\n", r"slug 'sofa_bed' is not"),
        ("søfa,,A,A,,,1\n", r"slug 'søfa' is not"),
        ("sofa-,,A,A,,,1\n", r"slug 'sofa-' is not"),
        (",,A,A,,,1\n", r"slug '' is not"),
        (f"{'a' * 65},,A,A,,,1\n", r"is not lowercase ASCII kebab-case"),
        ("a,,A,A,,,1\na,,A,A,,,2\n", r"categories.csv:3: slug 'a' appears twice"),
        ("a,,,A,,,1\n", r"a: name_nb must have 1 to 100 characters"),
        ("a,,A,A,,,first\n", r"sort_order 'first' is not an integer"),
        ("a,,A,A,,\n", r"categories.csv:2: expected 7 fields"),
        (
            "a,,A,A,,,1\nb,a,B,B,,,1\nc,b,C,C,,,1\nd,c,D,D,,,1\ne,d,E,E,,,1\n",
            r"e is 5 levels deep \(a/b/c/d/e\); at most 4",
        ),
    ],
)
async def test_invalid_categories_are_refused_with_a_clear_message(
    session: AsyncSession, data_dir: Path, rows: str, message: str
) -> None:
    with pytest.raises(ReferenceDataError, match=message):
        await load_categories(session, data_dir, HEADER + rows)


async def test_a_wrong_header_is_refused(session: AsyncSession, data_dir: Path) -> None:
    with pytest.raises(ReferenceDataError, match="expected the columns slug, parent_slug"):
        await load_categories(session, data_dir, "slug,parent,name\nfurniture,,Møbler\n")


async def test_the_database_refuses_a_path_that_does_not_follow_the_parents(
    session: AsyncSession,
) -> None:
    insert = text(
        "INSERT INTO categories (slug, parent_slug, name_nb, name_en, sort_order, path) "
        "VALUES (:slug, :parent, 'X', 'X', 1, :path)"
    )
    cases = [
        # The parent's real path is {electronics,computers}.
        ("tablets-2", "computers", ["computers", "tablets-2"], "fk_categories_parent_path"),
        ("tablets-2", "computers", ["electronics", "tablets-2"], "ck_categories_path_matches"),
        ("tablets-2", None, [], "ck_categories_path_shape"),
        ("tablets-2", None, ["tablets"], "ck_categories_path_shape"),
        ("Tablets", None, ["Tablets"], "ck_categories_slug_format"),
    ]
    for slug, parent, path, constraint in cases:
        with pytest.raises(IntegrityError, match=constraint):
            async with session.begin_nested():
                await session.execute(insert, {"slug": slug, "parent": parent, "path": path})
    # A cycle: electronics under its own grandchild. Its children's parent path is gone.
    with pytest.raises(IntegrityError, match="fk_categories_parent_path"):
        async with session.begin_nested():
            await session.execute(
                text(
                    "UPDATE categories SET parent_slug = 'laptops', "
                    "path = '{electronics,computers,laptops,electronics}' "
                    "WHERE slug = 'electronics'"
                )
            )
    # Nor can a category with sub-categories, or one a mapping refers to, be deleted.
    for statement, constraint in (
        ("DELETE FROM categories WHERE slug = 'computers'", "fk_categories_parent_"),
        ("DELETE FROM reuse_factors WHERE category = 'Laptop medium'", "fk_categories_reuse"),
        ("DELETE FROM ords_categories WHERE id = 16", "fk_categories_ords"),
    ):
        with pytest.raises(IntegrityError, match=constraint):
            async with session.begin_nested():
                await session.execute(text(statement))
