"""Listing photos through the API: upload (JPEG with GPS, HEIC), what is served and how it is
cached, who sees what, every refusal with its problem body, reorder, delete, a moderator's
removal, the first photo in the listing, search, GeoJSON and tiles, the sweep that deletes
files, erasure and export — and twelve parallel uploads against the limit of ten."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import httpx
import mapbox_vector_tile  # type: ignore[import-untyped]
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing
from app.models.organization import ApiKeyScope, MemberRole
from app.services import photo as photo_service
from app.services.photos.processing import storage_from_settings
from app.services.photos.storage import LocalStorage
from tests.api.test_tiles import tile_of
from tests.factories import (
    Actor,
    create_api_key,
    create_listing,
    create_organization,
    create_person,
)
from tests.images import animated_webp, gps_jpeg, heic, photo, png_header_only
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
GPS_MARKERS = (b"Exif", b"EXIF", b"GPS", b"XMP", b"ICCP", b"xmpmeta")


@pytest.fixture
async def owner(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def stranger(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def moderator(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, roles=["moderator"])


@pytest.fixture
async def listing(session: AsyncSession, owner: Actor) -> Listing:
    return await create_listing(session, at=OSLO, person=owner, title="Sofa", category="bikes")


def storage(settings: Settings) -> LocalStorage:
    store = storage_from_settings(settings)
    assert isinstance(store, LocalStorage)
    return store


async def upload(
    client: httpx.AsyncClient,
    who: Actor | None,
    listing_id: uuid.UUID,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    alt: str | None = None,
) -> httpx.Response:
    return await client.post(
        f"/v1/listings/{listing_id}/photos",
        files={"file": (filename, data, content_type)},
        data={"alt": alt} if alt is not None else None,
        headers=who.headers if who else None,
    )


async def uploaded(
    client: httpx.AsyncClient, who: Actor, listing_id: uuid.UUID, data: bytes, **kw: Any
) -> dict[str, Any]:
    response = await upload(client, who, listing_id, data, **kw)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def colours(n: int) -> list[bytes]:
    """``n`` different small PNGs (fast to decode)."""
    return [photo("PNG", size=(60, 40), colour=(i * 20, 255 - i * 20, 90)) for i in range(n)]


async def test_a_phone_photo_is_served_upright_without_any_metadata(
    client: httpx.AsyncClient, owner: Actor, listing: Listing
) -> None:
    source = gps_jpeg(size=(1200, 600))
    response = await upload(client, owner, listing.id, source, alt="Grå sofa, tre seter")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/listings/{listing.id}/photos/{body['id']}"
    assert body["position"] == 0
    assert body["alt"] == "Grå sofa, tre seter"
    assert (body["width"], body["height"]) == (600, 1200)  # turned by its EXIF orientation
    assert [r["size"] for r in body["renditions"]] == [320, 960, 1920]
    assert body["thumbnail_url"] == body["renditions"][0]["url"]
    for rendition in body["renditions"]:
        served = await client.get(rendition["url"])  # anonymous: the listing is public
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/webp"
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        etag = served.headers["etag"]
        for marker in GPS_MARKERS:
            assert marker not in served.content
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.format == "WEBP"
            assert not image.getexif()
            assert "exif" not in image.info
            assert "icc_profile" not in image.info
            assert (image.width, image.height) == (rendition["width"], rendition["height"])
            assert image.height == 2 * image.width
        again = await client.get(rendition["url"], headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
    assert (await client.get(body["renditions"][0]["url"].replace("320", "321"))).status_code == 404


async def test_heic_from_a_phone_is_accepted(
    client: httpx.AsyncClient, owner: Actor, listing: Listing
) -> None:
    body = await uploaded(client, owner, listing.id, heic(), content_type="image/heic")
    assert (body["width"], body["height"]) == (640, 480)
    served = await client.get(body["renditions"][-1]["url"])
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "WEBP"
        assert image.size == (640, 480)


async def test_the_first_photo_is_in_the_listing_search_geojson_and_tiles(
    client: httpx.AsyncClient, owner: Actor, listing: Listing
) -> None:
    assert (await client.get(f"/v1/listings/{listing.id}")).json()["photo"] is None
    first = await uploaded(client, owner, listing.id, colours(1)[0], alt="Forfra")
    await uploaded(client, owner, listing.id, colours(2)[1])
    expected = {"url": first["thumbnail_url"], "alt": "Forfra"}
    assert (await client.get(f"/v1/listings/{listing.id}")).json()["photo"] == expected
    lat, lon = OSLO
    found = await client.get("/v1/listings", params={"lat": lat, "lon": lon, "radius_m": 2000})
    mine = [i for i in found.json()["items"] if i["id"] == str(listing.id)]
    assert mine
    assert mine[0]["photo"] == expected
    geo = await client.get(
        "/v1/listings",
        params={"lat": lat, "lon": lon, "radius_m": 2000},
        headers={"Accept": "application/geo+json"},
    )
    feature = next(f for f in geo.json()["features"] if f["id"] == str(listing.id))
    assert feature["properties"]["photo"] == expected
    # Tiles: the attribute at street zooms only (tiles hold the blurred point).
    shown_lon, shown_lat = feature["geometry"]["coordinates"]
    for z, has_photo in ((14, True), (12, False)):
        x, y = tile_of(shown_lon, shown_lat, z)
        tile = await client.get(f"/v1/tiles/listings/{z}/{x}/{y}.mvt")
        assert tile.status_code == 200
        decoded = mapbox_vector_tile.decode(tile.content)
        props = [f["properties"] for f in decoded["listings"]["features"]]
        ours = next(p for p in props if p.get("id") == str(listing.id))
        assert ("photo" in ours) is has_photo
        if has_photo:
            assert ours["photo"] == first["thumbnail_url"]


async def test_only_its_managers_add_change_and_delete(
    client: httpx.AsyncClient, owner: Actor, stranger: Actor, listing: Listing
) -> None:
    data = colours(1)[0]
    assert_problem(await upload(client, None, listing.id, data), 401, "unauthorized")
    assert_problem(await upload(client, stranger, listing.id, data), 403, "not_listing_owner")
    assert_problem(await upload(client, owner, uuid.uuid4(), data), 404, "listing_not_found")
    body = await uploaded(client, owner, listing.id, data)
    url = f"/v1/listings/{listing.id}/photos/{body['id']}"
    assert_problem(await client.delete(url, headers=stranger.headers), 403, "not_listing_owner")
    order = {"photo_ids": [body["id"]]}
    reorder = f"/v1/listings/{listing.id}/photos/order"
    refused = await client.put(reorder, json=order, headers=stranger.headers)
    assert_problem(refused, 403, "not_listing_owner")
    listed = await client.get(f"/v1/listings/{listing.id}/photos")
    assert [p["id"] for p in listed.json()["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"just some text, named holiday.jpg", "unsupported_image_type"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "unsupported_image_type"),
        (photo("GIF"), "unsupported_image_type"),
        (photo("JPEG", size=(1200, 900), quality=95)[:4000], "image_undecodable"),
        (png_header_only(30_000, 30_000), "image_too_large"),
        (animated_webp(), "image_animated"),
    ],
    ids=["text", "pdf", "gif", "truncated", "bomb", "animated"],
)
async def test_what_is_no_acceptable_image_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, owner: Actor, listing: Listing, payload: bytes, code: str
) -> None:
    response = await upload(client, owner, listing.id, payload)
    problem = assert_problem(response, 422, code)
    assert problem["detail"]
    assert (await client.get(f"/v1/listings/{listing.id}/photos")).json()["items"] == []


async def test_too_many_bytes_is_a_413(
    client: httpx.AsyncClient, owner: Actor, listing: Listing, settings: Settings
) -> None:
    limit = settings.photos.max_upload_bytes
    # Above the limit but inside the multipart allowance: the route refuses it.
    just_over = photo("PNG", size=(60, 40)) + b"\0" * (limit + 1000)
    response = await upload(client, owner, listing.id, just_over)
    assert_problem(response, 413, "payload_too_large")
    # Far above: the body limit refuses before any route runs.
    response = await upload(client, owner, listing.id, b"\0" * (limit + 200_000))
    assert_problem(response, 413, "payload_too_large")
    assert (await client.get(f"/v1/listings/{listing.id}/photos")).json()["items"] == []


async def test_bad_form_fields(client: httpx.AsyncClient, owner: Actor, listing: Listing) -> None:
    response = await upload(client, owner, listing.id, colours(1)[0], alt="<b>sofa</b>")
    problem = assert_problem(response, 422, "invalid_input")
    assert problem["errors"][0]["field"] == "alt"
    missing = await client.post(
        f"/v1/listings/{listing.id}/photos", data={"alt": "x"}, headers=owner.headers
    )
    assert_problem(missing, 422, "validation_failed")
    as_json = await client.post(
        f"/v1/listings/{listing.id}/photos", json={"file": "x"}, headers=owner.headers
    )
    assert_problem(as_json, 422, "validation_failed")


async def test_ten_photos_at_most_and_a_retry_is_the_same_photo(
    client: httpx.AsyncClient, owner: Actor, listing: Listing
) -> None:
    images = colours(11)
    made = [await uploaded(client, owner, listing.id, data) for data in images[:10]]
    assert [p["position"] for p in made] == list(range(10))
    retry = await upload(client, owner, listing.id, images[3])
    assert retry.status_code == 200
    assert retry.json()["id"] == made[3]["id"]
    problem = assert_problem(
        await upload(client, owner, listing.id, images[10]), 409, "too_many_photos"
    )
    assert "10" in problem["detail"]


async def test_reorder_names_each_photo_once(
    client: httpx.AsyncClient, owner: Actor, listing: Listing, session: AsyncSession
) -> None:
    a, b, c = [await uploaded(client, owner, listing.id, d) for d in colours(3)]
    url = f"/v1/listings/{listing.id}/photos/order"
    response = await client.put(
        url, json={"photo_ids": [c["id"], a["id"], b["id"]]}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    assert [p["id"] for p in response.json()["items"]] == [c["id"], a["id"], b["id"]]
    assert [p["position"] for p in response.json()["items"]] == [0, 1, 2]
    first = (await client.get(f"/v1/listings/{listing.id}")).json()["photo"]
    assert first["url"] == c["thumbnail_url"]
    other = await create_listing(session, at=OSLO, person=owner, title="Annet")
    foreign = await uploaded(client, owner, other.id, photo("PNG", size=(30, 30)))
    for ids in (
        [a["id"], b["id"]],  # one missing
        [a["id"], a["id"], b["id"], c["id"]],  # one twice
        [a["id"], b["id"], foreign["id"]],  # another listing's
    ):
        bad = await client.put(url, json={"photo_ids": ids}, headers=owner.headers)
        assert_problem(bad, 422, "invalid_photo_order")
    unchanged = (await client.get(f"/v1/listings/{listing.id}/photos")).json()["items"]
    assert [p["id"] for p in unchanged] == [c["id"], a["id"], b["id"]]
    not_uuid = await client.put(url, json={"photo_ids": ["nope"]}, headers=owner.headers)
    assert_problem(not_uuid, 422, "validation_failed")


async def test_delete_closes_the_gap_and_the_sweep_deletes_unshared_files(
    client: httpx.AsyncClient,
    app: FastAPI,
    owner: Actor,
    listing: Listing,
    settings: Settings,
    session: AsyncSession,
) -> None:
    a, b, c = [await uploaded(client, owner, listing.id, d) for d in colours(3)]
    # The same bytes on another listing share the files.
    other = await create_listing(session, at=OSLO, person=owner, title="Annet")
    await uploaded(client, owner, other.id, colours(3)[0])
    response = await client.delete(
        f"/v1/listings/{listing.id}/photos/{a['id']}", headers=owner.headers
    )
    assert response.status_code == 204
    response = await client.delete(
        f"/v1/listings/{listing.id}/photos/{b['id']}", headers=owner.headers
    )
    assert response.status_code == 204
    items = (await client.get(f"/v1/listings/{listing.id}/photos")).json()["items"]
    assert [(p["id"], p["position"]) for p in items] == [(c["id"], 0)]
    gone = await client.get(f"/v1/listings/{listing.id}/photos/{b['id']}")
    assert_problem(gone, 404, "photo_not_found")
    seen = await client.get(f"/v1/listings/{listing.id}/photos/{b['id']}", headers=owner.headers)
    assert seen.json()["removal"]["reason"] == photo_service.OWNER_DELETED
    again = await client.delete(
        f"/v1/listings/{listing.id}/photos/{b['id']}", headers=owner.headers
    )
    assert_problem(again, 404, "photo_not_found")
    assert_problem(await client.get(b["thumbnail_url"]), 404, "photo_not_found")

    store = storage(settings)
    # The URLs name photo ids; the files are content-addressed (keys in the rows).
    files = await _files_of(session, [uuid.UUID(a["id"]), uuid.UUID(b["id"])])
    assert all([await store.get(k) is not None for k in files[a["id"]] + files[b["id"]]])
    deleted = await photo_service.purge_removed(
        app.state.sessionmaker, store, now=listing.created_at
    )
    assert deleted == len(set(files[b["id"]]))  # a's files are still the other listing's
    assert all([await store.get(k) is None for k in files[b["id"]]])
    assert all([await store.get(k) is not None for k in files[a["id"]]])
    again_purged = await photo_service.purge_removed(
        app.state.sessionmaker, store, now=listing.created_at
    )
    assert again_purged == 0


async def _files_of(session: AsyncSession, ids: list[uuid.UUID]) -> dict[str, list[str]]:
    from sqlalchemy import select

    from app.models import ListingPhoto

    rows = (await session.execute(select(ListingPhoto).where(ListingPhoto.id.in_(ids)))).scalars()
    return {str(p.id): [str(r["key"]) for r in p.renditions] for p in rows}


async def test_a_moderator_removes_a_photo_with_a_reason_the_owner_is_told(
    client: httpx.AsyncClient, owner: Actor, stranger: Actor, moderator: Actor, listing: Listing
) -> None:
    body = await uploaded(client, owner, listing.id, colours(1)[0])
    url = f"/v1/listings/{listing.id}/photos/{body['id']}/remove"
    refused = await client.post(url, json={"reason": "Viser et ansikt"}, headers=stranger.headers)
    assert_problem(refused, 403, "role_required")
    empty = await client.post(url, json={"reason": " "}, headers=moderator.headers)
    assert_problem(empty, 422, "validation_failed")
    response = await client.post(url, json={"reason": "Viser et ansikt"}, headers=moderator.headers)
    assert response.status_code == 200, response.text
    assert response.json()["removal"]["reason"] == "Viser et ansikt"
    assert (await client.get(f"/v1/listings/{listing.id}")).json()["photo"] is None
    notes = (await client.get("/v1/me/notifications", headers=owner.headers)).json()["items"]
    assert notes[0]["type"] == "listing.photo_removed"
    assert notes[0]["listing_id"] == str(listing.id)
    seen = await client.get(f"/v1/listings/{listing.id}/photos/{body['id']}", headers=owner.headers)
    assert seen.json()["removal"]["reason"] == "Viser et ansikt"
    twice = await client.post(url, json={"reason": "igjen"}, headers=moderator.headers)
    assert_problem(twice, 404, "photo_not_found")


async def test_a_hidden_listing_photo_is_for_its_owner_and_moderators_only(
    client: httpx.AsyncClient, owner: Actor, stranger: Actor, moderator: Actor, listing: Listing
) -> None:
    body = await uploaded(client, owner, listing.id, colours(1)[0])
    hidden = await client.post(
        f"/v1/listings/{listing.id}/hide", json={"reason": "Sjekkes"}, headers=moderator.headers
    )
    assert hidden.status_code == 200
    url = body["thumbnail_url"]
    assert_problem(await client.get(url), 404, "photo_not_found")
    assert_problem(await client.get(url, headers=stranger.headers), 404, "photo_not_found")
    for who in (owner, moderator):
        served = await client.get(url, headers=who.headers)
        assert served.status_code == 200
        assert served.headers["cache-control"] == "private, no-store"
    listed = await client.get(f"/v1/listings/{listing.id}/photos")
    assert_problem(listed, 404, "listing_not_found")


async def test_a_closed_listing_takes_no_photos(
    client: httpx.AsyncClient, session: AsyncSession, owner: Actor
) -> None:
    closed = await create_listing(session, at=OSLO, person=owner)
    withdrawn = await client.post(f"/v1/listings/{closed.id}/withdraw", headers=owner.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    response = await upload(client, owner, closed.id, colours(1)[0])
    assert_problem(response, 409, "listing_closed")


async def test_erasure_removes_the_photos_and_the_export_lists_them(
    client: httpx.AsyncClient,
    app: FastAPI,
    owner: Actor,
    listing: Listing,
    settings: Settings,
    session: AsyncSession,
) -> None:
    body = await uploaded(client, owner, listing.id, colours(1)[0], alt="Sofa")
    export = (await client.get("/v1/me/export", headers=owner.headers)).json()
    assert [(p["id"], p["alt"]) for p in export["photos"]] == [(body["id"], "Sofa")]
    files = (await _files_of(session, [uuid.UUID(body["id"])]))[body["id"]]
    assert (await client.delete("/v1/me", headers=owner.headers)).status_code == 204
    assert_problem(await client.get(body["thumbnail_url"]), 404, "photo_not_found")
    store = storage(settings)
    await photo_service.purge_removed(app.state.sessionmaker, store, now=listing.created_at)
    assert all([await store.get(k) is None for k in files])


async def test_twelve_parallel_uploads_make_ten_photos(
    committed_client: httpx.AsyncClient, committed_engine: Any, settings: Settings
) -> None:
    async with AsyncSession(committed_engine, expire_on_commit=False) as session:
        owner = await create_person(session, settings)
        target = await create_listing(session, at=OSLO, person=owner, title="Stol")
        await session.commit()
    responses = await asyncio.gather(
        *(upload(committed_client, owner, target.id, data) for data in colours(12))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [409] * 2
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "too_many_photos")
    items = (await committed_client.get(f"/v1/listings/{target.id}/photos")).json()["items"]
    assert sorted(p["position"] for p in items) == list(range(10))


async def test_a_photo_is_reported_and_a_moderator_removes_it_in_the_decision(
    client: httpx.AsyncClient, owner: Actor, stranger: Actor, moderator: Actor, listing: Listing
) -> None:
    body = await uploaded(client, owner, listing.id, colours(1)[0])
    report = {"target_type": "photo", "target_id": body["id"], "reason": "offensive"}
    own = await client.post("/v1/reports", json=report, headers=owner.headers)
    assert_problem(own, 422, "own_report_target")
    unknown = {**report, "target_id": str(uuid.uuid4())}
    missing = await client.post("/v1/reports", json=unknown, headers=stranger.headers)
    assert_problem(missing, 422, "unknown_report_target")
    made = await client.post("/v1/reports", json=report, headers=stranger.headers)
    assert made.status_code == 201, made.text
    assert made.json()["target"] == {"type": "photo", "id": body["id"]}
    queue = await client.get(
        "/v1/moderation/reports", params={"target_type": "photo"}, headers=moderator.headers
    )
    [queued] = [r for r in queue.json()["items"] if r["id"] == made.json()["id"]]
    assert queued["target_label"] == body["renditions"][1]["url"]
    wrong = await client.post(
        f"/v1/moderation/reports/{queued['id']}/decision",
        json={"outcome": "actioned", "note": "Støtende", "action": "hide_listing"},
        headers=moderator.headers,
    )
    assert_problem(wrong, 422, "action_not_for_target")
    decided = await client.post(
        f"/v1/moderation/reports/{queued['id']}/decision",
        json={"outcome": "actioned", "note": "Støtende", "action": "remove_photo"},
        headers=moderator.headers,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["action"] == "remove_photo"
    seen = await client.get(f"/v1/listings/{listing.id}/photos/{body['id']}", headers=owner.headers)
    assert seen.json()["removal"]["reason"] == "Støtende"
    again = await client.post("/v1/reports", json=report, headers=stranger.headers)
    assert_problem(again, 422, "unknown_report_target")


async def test_an_organizations_members_and_keys_with_listings_write_add_photos(
    client: httpx.AsyncClient, session: AsyncSession, owner: Actor, stranger: Actor
) -> None:
    org = await create_organization(
        session, owner=owner, members={stranger.person_id: MemberRole.MEMBER}
    )
    shop = await create_listing(session, at=OSLO, organization=org, title="Verktøykasse")
    member = await upload(client, stranger, shop.id, colours(1)[0])
    assert member.status_code == 201, member.text
    writer = await create_api_key(
        session, organization_id=org.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    reader = await create_api_key(session, organization_id=org.id, scopes=[ApiKeyScope.IMPACT_READ])
    data = colours(2)[1]
    as_key = await client.post(
        f"/v1/listings/{shop.id}/photos", files={"file": ("a.png", data)}, headers=writer
    )
    assert as_key.status_code == 201, as_key.text
    refused = await client.post(
        f"/v1/listings/{shop.id}/photos",
        files={"file": ("b.png", photo("PNG", size=(20, 20)))},
        headers=reader,
    )
    assert_problem(refused, 403, "insufficient_scope")
