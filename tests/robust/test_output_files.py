"""Output files: checked before any work, atomic, through links, never over a device,
with the umask's permissions."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from robust_cli import assert_user_error, run

from specbound.errors import OutputPathError
from specbound.io import atomic_output, check_output_file, check_output_folder, write_json_atomic


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_new_file_gets_the_umasks_permissions(tmp_path) -> None:
    previous = os.umask(0o027)
    try:
        path = write_json_atomic(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_replaced_file_keeps_its_mode(tmp_path) -> None:
    path = tmp_path / "a.json"
    path.write_text("{}")
    path.chmod(0o604)
    write_json_atomic(path, {"x": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o604 and json.loads(path.read_text()) == {"x": 1}


def test_writes_go_through_a_symbolic_link(tmp_path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_json_atomic(link, {"x": 2})
    assert link.is_symlink() and json.loads(real.read_text()) == {"x": 2}
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "target.json")
    write_json_atomic(dangling, {"x": 3})
    assert dangling.is_symlink() and json.loads((tmp_path / "target.json").read_text()) == {"x": 3}


def test_a_failed_write_leaves_the_old_file_and_no_partial_file(tmp_path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"old": true}')
    with pytest.raises(RuntimeError), atomic_output(path) as tmp:
        tmp.write_text('{"half')
        raise RuntimeError("interrupted")
    assert json.loads(path.read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    with pytest.raises(TypeError):  # not serialisable: nothing written
        write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_devices_pipes_folders_and_empty_paths_are_refused(tmp_path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for bad in ("/dev/full", "/dev/null", str(fifo), str(tmp_path), "", "   "):
        with pytest.raises(OutputPathError):
            check_output_file(bad, "--out")
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(OutputPathError, match="does not exist"):
        check_output_file(tmp_path / "no" / "a.json", "--out")
    assert check_output_file(tmp_path / "no" / "a.json", "--out", parents=True).name == "a.json"
    with pytest.raises(OutputPathError, match="not a folder"):
        check_output_folder(fifo, "--out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(tmp_path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="cannot write"):
            check_output_file(folder / "a.json", "--out")
    finally:
        folder.chmod(0o700)


def test_a_read_only_place_is_refused_even_for_root() -> None:
    with pytest.raises(OutputPathError, match="cannot write"):
        check_output_file("/proc/specbound-test.json", "--out")
    with pytest.raises(OutputPathError):
        check_output_folder("/proc/specbound-results", "--out")


def _forbid(monkeypatch, target: str) -> None:
    module, name = target.rsplit(".", 1)

    def fail(*args, **kwargs):
        raise AssertionError(f"{target} ran although the output place is bad")

    monkeypatch.setattr(f"{module}.{name}", fail)


@pytest.mark.parametrize(
    ("argv", "compute"),
    [
        (["chain", "random", "-o", "{bad}"], "specbound.chain.generators.random_pair"),
        (["bench", "sim", "--quick", "--out", "{bad}"], "specbound.bench.sim.run_sim_benchmark"),
        (["reproduce", "--quick", "--out", "{bad}"], "specbound.experiments.reproduce"),
        (["bench", "lm", "--quick", "--out", "{bad}"], "specbound.lm.load_pair"),
    ],
)
@pytest.mark.parametrize("bad", ["/dev/full", "/proc/specbound-x"])
def test_output_places_are_checked_before_any_work(argv, compute, bad, monkeypatch, capsys):
    _forbid(monkeypatch, compute)
    code, out, err = run([a.replace("{bad}", bad) for a in argv], capsys)
    assert_user_error(code, out, err, bad)


def test_chain_random_writes_through_a_link_with_umask_permissions(tmp_path, capsys) -> None:
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    code, _, _ = run(["chain", "random", "--T", 3, "--S", 2, "-o", link], capsys)
    assert code == 0 and link.is_symlink()
    assert json.loads(real.read_text())["start"] == 0
    assert stat.S_IMODE(real.stat().st_mode) == 0o666 & ~_umask()


def test_the_kernel_cache_follows_the_umask(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 26: every writer goes through the one atomic writer (mkstemp alone is 0600)."""
    from specbound.lm.engine.kernel_cache import cache_path, cached_choice

    monkeypatch.setenv("SPECBOUND_CACHE_DIR", str(tmp_path))
    previous = os.umask(0o022)
    try:
        cached_choice("key", ["linear"], lambda: ("linear",))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(cache_path().stat().st_mode) == 0o644
