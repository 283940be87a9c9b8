"""GitSnapshot and structure JSON on a real code base (flask) in a temporary git repository with two commits."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from patchline.cli.app import main
from patchline.core.errors import InputError
from patchline.core.repos import (
    GitSnapshot,
    StructureSnapshot,
    build_structure,
    find_definition_span,
    load_structure_file,
    open_snapshot,
    structure_path,
)
from tests.fixtures import gitrepos
from tests.fixtures.gitrepos import PackageRepo, build_package_repo, git_env

package_repo = gitrepos.package_repo  # the shared session fixture (not in tests/conftest.py yet)

pytestmark = pytest.mark.integration


def _git(repo: PackageRepo, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=repo.path, env=git_env(), capture_output=True, check=True).stdout


def _git_files(repo: PackageRepo, commit: str) -> list[str]:
    out = _git(repo, "ls-tree", "-r", "-z", "--name-only", commit).decode()
    return sorted(p for p in out.split("\0") if p and p != repo.symlink)


@pytest.mark.parametrize("which", ["first", "second"])
def test_every_file_reads_back_byte_identical(package_repo: PackageRepo, which: str) -> None:
    commit = getattr(package_repo, which)
    with GitSnapshot(package_repo.path, commit) as snapshot:
        assert snapshot.commit == commit
        files = snapshot.list_files()
        assert files == _git_files(package_repo, commit)
        for path in files:
            data = _git(package_repo, "show", f"{commit}:{path}")
            assert snapshot.read_bytes(path) == data and snapshot.size_of(path) == len(data), path
        assert snapshot.size_of("no/such/file.py") is None and snapshot.size_of(package_repo.symlink) is None
        texts = dict(snapshot.iter_texts())
    assert package_repo.binary not in texts and package_repo.not_utf8 not in texts
    assert texts["flask/app.py"] == _git(package_repo, "show", f"{commit}:flask/app.py").decode()
    assert len(texts) == len(files) - 2


def test_the_two_commits_differ_as_committed(package_repo: PackageRepo) -> None:
    first = GitSnapshot(package_repo.path, package_repo.first)
    second = GitSnapshot(package_repo.path, package_repo.second)
    try:
        assert set(second.list_files()) - set(first.list_files()) == set(package_repo.added)
        assert set(first.list_files()) - set(second.list_files()) == set(package_repo.deleted)
        for path in package_repo.modified:
            assert first.read_text(path) != second.read_text(path)
        assert second.read_text(package_repo.deleted[0]) is None
        assert first.read_text(package_repo.symlink) is None and package_repo.symlink not in first.list_files()
        assert first.key != second.key
    finally:
        first.close()
        second.close()


def test_one_cat_file_process_serves_all_reads(package_repo: PackageRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def counting_popen(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        started.append(list(args))
        return real_popen(args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(subprocess, "Popen", counting_popen)
    snapshot = GitSnapshot(package_repo.path, package_repo.second)
    before = len(started)  # rev-parse runs through subprocess.run, which uses Popen too
    texts = list(snapshot.iter_texts())
    assert len(texts) > 20
    snapshot.read_text("flask/app.py")
    launched = started[before:]
    assert [a[-1] for a in launched if "cat-file" in a] == ["--batch"]
    assert sum("ls-tree" in a for a in launched) == 1
    snapshot.close()
    assert snapshot.read_text("flask/app.py") is not None  # reopens lazily after close
    snapshot.close()


def test_concurrent_reads_from_threads(package_repo: PackageRepo) -> None:
    with GitSnapshot(package_repo.path, package_repo.second) as snapshot:
        files = [p for p in snapshot.list_files() if p.endswith(".py")]
        expected = {p: snapshot.read_text(p) for p in files}
        errors: list[str] = []

        def reader(offset: int) -> None:
            for path in files[offset:] + files[:offset]:
                if snapshot.read_text(path) != expected[path]:
                    errors.append(path)

        threads = [threading.Thread(target=reader, args=(i * 5,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors and not any(t.is_alive() for t in threads)


@pytest.mark.parametrize("which", ["first", "second"])
def test_structure_at_each_commit_round_trips(package_repo: PackageRepo, tmp_path: Path, which: str) -> None:
    commit = getattr(package_repo, which)
    with GitSnapshot(package_repo.path, commit) as snapshot:
        document = build_structure(snapshot, repo="pallets/flask", instance_id=f"pallets__flask-{which}")
        assert document["base_commit"] == commit
        out = structure_path(str(tmp_path), document["instance_id"])
        Path(out).write_text(json.dumps(document), encoding="utf-8")
        loaded = load_structure_file(out)
        assert loaded.commit == commit
        assert loaded.list_files() == snapshot.list_files()
        for path in snapshot.list_files():
            text = snapshot.read_text(path)
            entry = loaded.entry(path)
            if path.endswith(".py") and text is not None and entry and entry["text"] != "":
                assert loaded.read_text(path) == text, path
            else:
                assert loaded.read_text(path) is None, path
        assert document["structure"]["flask"]["latin1.py"] == {"classes": [], "functions": [], "text": ""}
        assert document["structure"]["flask"]["static"]["blob.bin"] == {}


def test_structure_spans_follow_the_second_commit(package_repo: PackageRepo) -> None:
    with (
        GitSnapshot(package_repo.path, package_repo.first) as first,
        GitSnapshot(package_repo.path, package_repo.second) as second,
    ):
        one = StructureSnapshot.from_document(build_structure(first))
        two = StructureSnapshot.from_document(build_structure(second))
    app_one, app_two = one.entry("flask/app.py"), two.entry("flask/app.py")
    assert app_one is not None and app_two is not None
    start, end = find_definition_span(app_one, "class", "Flask") or (0, 0)
    assert find_definition_span(app_two, "class", "Flask") == (start + 1, end + 1)
    helpers = two.entry("flask/helpers.py")
    assert helpers is not None and find_definition_span(helpers, "function", "second_commit_marker") is not None
    broken = two.entry(package_repo.unparsable)
    assert broken == {"classes": [], "functions": [], "text": ""}  # as Agentless records it
    assert one.entry(package_repo.unparsable) is None


@pytest.mark.parametrize("commit", ["--output=/tmp/pwned", "HEAD..main", "no-such-branch", "0" * 40])
def test_bad_commits_are_input_errors(package_repo: PackageRepo, commit: str) -> None:
    with pytest.raises(InputError):
        GitSnapshot(package_repo.path, commit)


def test_refs_resolve_and_open_snapshot_uses_git(package_repo: PackageRepo, tmp_path: Path) -> None:
    assert GitSnapshot(package_repo.path, "main").commit == package_repo.second
    assert GitSnapshot(package_repo.path, "HEAD~1").commit == package_repo.first
    snapshot = open_snapshot(str(package_repo.path), package_repo.first[:10])
    assert isinstance(snapshot, GitSnapshot) and snapshot.commit == package_repo.first
    snapshot.close()
    with pytest.raises(InputError):
        GitSnapshot(tmp_path, "HEAD")  # not a repository


def test_a_bare_mirror_reads_like_the_work_tree(package_repo: PackageRepo, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(package_repo.path), str(mirror)], env=git_env(), check=True)
    with GitSnapshot(mirror, package_repo.first) as bare, GitSnapshot(package_repo.path, package_repo.first) as work:
        assert bare.list_files() == work.list_files()
        assert bare.read_text("flask/app.py") == work.read_text("flask/app.py")


def test_a_private_copy_can_be_built(tmp_path: Path) -> None:
    repo = build_package_repo(tmp_path / "copy")
    assert GitSnapshot(repo.path, repo.second).commit == repo.second


# -- the command line -------------------------------------------------------------------------------


def test_cli_ls_and_structure_for_one_commit(
    package_repo: PackageRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["repos", "ls", "--repo", str(package_repo.path), "--commit", package_repo.first]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == _git_files(package_repo, package_repo.first)
    out = tmp_path / "out" / "flask.json"
    argv = ["repos", "structure", "--repo", str(package_repo.path), "--commit", "HEAD", "--out", str(out)]
    assert main(argv) == 0
    assert "files" in capsys.readouterr().out
    snapshot = load_structure_file(str(out))
    assert snapshot.commit == package_repo.second and package_repo.unparsable in snapshot.list_files()
    assert main(["repos", "ls", "--repo", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == snapshot.list_files()


def test_cli_errors_are_one_line(package_repo: PackageRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repos", "ls", "--repo", str(package_repo.path), "--commit=--upload-pack=evil"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patchline: error:") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert main(["repos", "structure", "--repo", str(package_repo.path)]) == 2


def test_cli_structures_for_a_dataset_resume(
    package_repo: PackageRepo, lite_test_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [json.loads(line) for line in lite_test_path.read_text(encoding="utf-8").splitlines()]
    flask = [r for r in records if r["repo"] == "pallets/flask"]
    assert len(flask) == 3
    flask[0]["base_commit"], flask[1]["base_commit"] = package_repo.first, package_repo.second
    other = next(r for r in records if r["repo"] == "psf/requests")  # no checkout of it below the root
    dataset = tmp_path / "dataset.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in [*flask, other]), encoding="utf-8")
    repo_root = tmp_path / "repos"
    repo_root.mkdir()
    subprocess.run(
        ["git", "clone", "-q", "--mirror", str(package_repo.path), str(repo_root / "pallets__flask.git")],
        env=git_env(),
        check=True,
    )
    (repo_root / "pallets__flask.git").rename(repo_root / "pallets__flask")
    loc = tmp_path / "structures"
    argv = ["repos", "structure", "--instances", str(dataset), "--repo-root", str(repo_root)]
    argv += ["--project-file-loc", str(loc)]

    assert main(argv) == 1  # two instances cannot be done: unknown commit, no checkout
    captured = capsys.readouterr()
    assert "2 written, 0 already there, 2 failed" in captured.out
    assert flask[2]["instance_id"] in captured.err and other["instance_id"] in captured.err
    first = load_structure_file(structure_path(str(loc), flask[0]["instance_id"]))
    second = load_structure_file(structure_path(str(loc), flask[1]["instance_id"]))
    assert (first.commit, second.commit) == (package_repo.first, package_repo.second)
    assert set(second.list_files()) - set(first.list_files()) == set(package_repo.added)

    before = (loc / f"{flask[0]['instance_id']}.json").stat().st_mtime_ns
    assert main(argv) == 1
    assert "0 written, 2 already there, 2 failed" in capsys.readouterr().out
    assert (loc / f"{flask[0]['instance_id']}.json").stat().st_mtime_ns == before
