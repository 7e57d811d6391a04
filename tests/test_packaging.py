"""The Lambda package: the same sources give the same bytes (and `source_code_hash`) on any machine."""

import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from modules import packaging
from modules.api.infrastructure import RUNTIME as FUNCTION_SOURCE
from tests.conftest import SUFFIXES
from tests.helpers import find


def copy_sources(target: Path, *, mtime: float, mode: int) -> Path:
    """A checkout of the handler on another machine: other folder, other file times and permissions, extra files."""
    shutil.copytree(FUNCTION_SOURCE, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "__pycache__").mkdir()
    (target / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"bytecode")
    for path in target.rglob("*"):
        if path.is_file():
            os.chmod(path, mode)
            os.utime(path, (mtime, mtime))
    return target


def test_two_checkouts_with_other_times_and_modes_give_identical_packages(tmp_path):
    first = copy_sources(tmp_path / "a" / "video_api", mtime=315_532_800, mode=0o600)  # 1980
    second = copy_sources(tmp_path / "b" / "video_api", mtime=1_795_000_000, mode=0o755)  # 2026
    one = packaging.function_package(first, "video-api.zip").read_bytes()
    two = packaging.function_package(second, "video-api.zip").read_bytes()
    assert hashlib.sha256(one).hexdigest() == hashlib.sha256(two).hexdigest()


def test_package_holds_only_the_handler_modules_with_fixed_metadata(tmp_path):
    data = packaging.zip_bytes(packaging.function_sources(copy_sources(tmp_path / "src", mtime=0, mode=0o777)))
    (tmp_path / "p.zip").write_bytes(data)
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        infos = archive.infolist()
        contents = {info.filename: archive.read(info) for info in infos}
    assert [i.filename for i in infos] == ["__init__.py", "handler.py", "routes.py"]  # no tests, bytecode, README
    assert {(i.date_time, i.external_attr >> 16, i.compress_type) for i in infos} == {
        (packaging.FIXED_TIME, 0o100644, zipfile.ZIP_STORED)
    }
    assert contents == packaging.function_sources(FUNCTION_SOURCE)


def test_a_planted_folder_in_the_temp_dir_is_never_packaged():
    """The old staging reused /tmp/video-api-<digest> if it existed; anything planted there shipped."""
    sources = packaging.function_sources(FUNCTION_SOURCE)
    digest = hashlib.sha256(b"".join(n.encode() + b for n, b in sorted(sources.items()))).hexdigest()[:16]
    planted = Path(tempfile.gettempdir()) / f"video-api-{digest}"
    planted.mkdir(exist_ok=True)
    try:
        (planted / "handler.py").write_text("import os; os.system('curl evil')\n")
        package = packaging.function_package(FUNCTION_SOURCE, "video-api.zip")
        with zipfile.ZipFile(package) as archive:
            assert archive.read("handler.py") == sources["handler.py"]
        assert planted not in package.parents
        assert os.stat(package.parents[1]).st_mode & 0o077 == 0  # the staging folder is private (0700)
    finally:
        shutil.rmtree(planted)


def test_synthesized_stacks_reference_the_reproducible_package(synth_dir, stacks):
    expected = packaging.zip_bytes(packaging.function_sources(FUNCTION_SOURCE))
    assert sorted(stacks) == sorted(SUFFIXES)
    for suffix, stack in stacks.items():
        function = find(stack, "aws_lambda_function")
        shipped = (synth_dir / "stacks" / f"video-pipeline-{suffix}" / function["filename"]).read_bytes()
        assert shipped == expected, suffix
        assert function["source_code_hash"] == f'${{filebase64sha256("{function["filename"]}")}}'
