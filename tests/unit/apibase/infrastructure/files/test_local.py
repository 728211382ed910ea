"""LocalFileStore: round trips, keys that would escape the root, and writes that are all-or-nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from apibase.application.ports.files import FileStore, StoredFile
from apibase.infrastructure.files import LocalFileStore

pytestmark = pytest.mark.unit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files")


async def test_a_saved_file_reads_back_with_its_content_type(store: LocalFileStore) -> None:
    port: FileStore = store
    await port.save("products/42/image", PNG, "image/png")

    assert await port.open("products/42/image") == StoredFile(data=PNG, content_type="image/png")


async def test_bytes_that_look_like_the_header_survive(store: LocalFileStore) -> None:
    tricky = b"text/html\n<script>alert(1)</script>\n\n"
    await store.save("a", tricky, "application/pdf")

    assert await store.open("a") == StoredFile(data=tricky, content_type="application/pdf")


async def test_saving_again_replaces_the_file(store: LocalFileStore) -> None:
    await store.save("doc", b"%PDF-1.4 old", "application/pdf")
    await store.save("doc", PNG, "image/png")

    assert await store.open("doc") == StoredFile(data=PNG, content_type="image/png")


async def test_missing_files_are_none_and_delete_says_whether_it_removed_one(store: LocalFileStore) -> None:
    await store.save("products/1/image", PNG, "image/png")

    assert await store.open("products/2/image") is None
    assert await store.open("products") is None  # a directory is not a file
    assert await store.open("products/1/image/more") is None
    assert await store.delete("products/1/image") is True
    assert await store.delete("products/1/image") is False
    assert await store.delete("products") is False
    assert await store.open("products/1/image") is None


async def test_the_root_is_created_by_the_first_write_not_before(tmp_path: Path) -> None:
    """A read-only container root must not stop the service from starting (issue 11)."""
    store = LocalFileStore(tmp_path / "deep" / "root")
    assert not (tmp_path / "deep").exists()
    assert await store.open("x") is None

    await store.save("x", b"1", "image/png")

    assert store.root == (tmp_path / "deep" / "root").resolve()
    assert (store.root / "x").is_file()


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/",
        "/etc/passwd",
        "../outside",
        "products/../../outside",
        "products/..",
        "./x",
        "products//image",
        "products/",
        ".hidden",
        "products/.upload-x.tmp",
        "a\\..\\b",
        "a\x00b",
        "a\nb",
        "C:/windows",
        "café",
        "x" * 256,
    ],
)
async def test_malformed_or_escaping_keys_are_refused(store: LocalFileStore, key: str) -> None:
    with pytest.raises(ValueError, match="file key"):
        await store.save(key, b"x", "image/png")
    with pytest.raises(ValueError, match="file key"):
        await store.open(key)
    with pytest.raises(ValueError, match="file key"):
        await store.delete(key)


async def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path, store: LocalFileStore) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"image/png\nsecret")
    store.root.mkdir()
    (store.root / "link").symlink_to(outside, target_is_directory=True)

    with pytest.raises(ValueError, match="outside the store's root"):
        await store.open("link/secret")
    with pytest.raises(ValueError, match="outside the store's root"):
        await store.save("link/new", b"x", "image/png")
    assert not (outside / "new").exists()


@pytest.mark.parametrize("content_type", ["", "image", "image/png; charset=x", "IMAGE/PNG", "text/html\nx", "a/b/c"])
async def test_malformed_content_types_are_refused(store: LocalFileStore, content_type: str) -> None:
    with pytest.raises(ValueError, match="content type"):
        await store.save("x", b"x", content_type)


async def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    store: LocalFileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.save("products/1/image", PNG, "image/png")

    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        await store.save("products/1/image", b"%PDF-1.7 new", "application/pdf")

    assert await store.open("products/1/image") == StoredFile(data=PNG, content_type="image/png")
    assert os.listdir(store.root / "products" / "1") == ["image"]


async def test_writes_go_through_a_temporary_file_in_the_same_directory(
    store: LocalFileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(source: str, target: str) -> None:
        renames.append((source, target))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    await store.save("products/1/image", PNG, "image/png")

    [(source, target)] = renames
    assert Path(source).parent == Path(target).parent == store.root / "products" / "1"
    assert Path(source).name.startswith(".upload-")
    assert os.listdir(store.root / "products" / "1") == ["image"]


async def test_a_corrupt_file_is_an_error_not_a_guess(store: LocalFileStore) -> None:
    store.root.mkdir()
    (store.root / "broken").write_bytes(b"no header at all")

    with pytest.raises(ValueError, match="corrupt"):
        await store.open("broken")
