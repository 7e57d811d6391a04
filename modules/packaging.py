"""Lambda packages that are the same bytes on every machine: the same commit gives the same `source_code_hash`.

Entries are sorted, with a fixed time stamp (1980-01-01, zip's epoch), fixed permissions (0644) and no
compression (zlib builds differ between machines). The package is written to a private folder made fresh for this
process (mkdtemp: mode 0700, unguessable name), never reused from an earlier run, and removed when the process ends.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from constructs import Construct

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--

_staging: tempfile.TemporaryDirectory[str] | None = None


def function_sources(folder: Path) -> dict[str, bytes]:
    """The handler's modules (not its tests, bytecode or README), by file name."""
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.py"))}


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # Unix, so external_attr holds the mode on every platform
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def function_package(folder: Path, name: str) -> Path:
    """`folder`'s modules as `<private folder>/<digest>/<name>`; the same path for the same content."""
    global _staging
    data = zip_bytes(function_sources(folder))
    if _staging is None:
        _staging = tempfile.TemporaryDirectory(prefix="video-pipeline-packages-")
    package = Path(_staging.name) / hashlib.sha256(data).hexdigest() / name
    if not package.exists():
        package.parent.mkdir()
        package.write_bytes(data)
    return package


def lambda_code(scope: Construct, id_: str, *, source: Path, name: str) -> TerraformAsset:
    """`source`'s modules as a zip asset; the asset folder's name is the content's hash, so the function's code
    changes (and only then) when a module does."""
    return TerraformAsset(scope, id_, path=str(function_package(source, name)), type=AssetType.FILE)
