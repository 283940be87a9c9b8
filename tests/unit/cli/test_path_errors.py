"""A folder where a file goes (and other OS errors on a user's path): one line naming the path, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.cli.app import main

pytestmark = pytest.mark.unit


@pytest.fixture
def paths(tmp_path: Path, lite_test_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.jsonl").mkdir()
    (tmp_path / "structures").mkdir()
    (tmp_path / "a-file").write_text("x\n")
    (tmp_path / "requests.jsonl").write_text('{"custom_id": "a", "body": {"model": "m"}}\n')
    (tmp_path / "loc.jsonl").write_text('{"instance_id": "astropy__astropy-12907", "found_files": []}\n')
    monkeypatch.setenv("PROJECT_FILE_LOC", str(tmp_path / "structures"))
    return {"lite": str(lite_test_path), "long": "x" * 300 + ".jsonl", "url": "http://127.0.0.1:9"}


# (command, the path the error must name, exit code)
CASES = [
    (["infer", "run", "--input", "folder", "--output", "out.jsonl", "--url", "{url}"], "folder", 2),
    (["infer", "run", "--input", "requests.jsonl", "--output", "folder", "--url", "{url}"], "folder", 2),
    (["infer", "run", "--input", "requests.jsonl", "--output", "a-file/out.jsonl", "--url", "{url}"], "a-file", 2),
    (["infer", "run", "--input", "requests.jsonl", "--output", "{long}", "--url", "{url}"], "xxxx", 2),
    (["infer", "run", "--input", "missing.jsonl", "--output", "out.jsonl", "--url", "{url}"], "missing", 3),
    (["infer", "submit", "--input", "folder", "--url", "{url}", "--run-dir", "run"], "folder", 2),
    (["agentless", "repair", "--loc_file", "folder", "--output_folder", "o", "--dataset", "{lite}", "--diff_format",
      "--batch_gen"], "folder", 2),
    (["agentless", "repair", "--loc_file", "loc.jsonl", "--output_folder", "a-file", "--dataset", "{lite}",
      "--diff_format", "--batch_gen"], "a-file", 2),
    (["agentless", "repair", "--loc_file", "loc.jsonl", "--output_folder", "o", "--dataset", "{lite}",
      "--diff_format", "--process_batch", "--batch_output", "folder"], "folder", 2),
    (["rollout", "bugfixer", "gen_step1", "--dataset", "folder.jsonl", "--repostructure_dir", "structures",
      "--output_file", "o.jsonl"], "folder.jsonl", 2),
    (["rollout", "bugfixer", "proc_step2", "--dataset", "{lite}", "--repostructure_dir", "structures",
      "--input_file", "folder", "--save_dir", "save"], "folder", 2),
    (["rollout", "bugfixer", "proc_step2", "--dataset", "{lite}", "--repostructure_dir", "structures",
      "--input_file", "requests.jsonl", "--save_dir", "a-file"], "a-file", 2),
    (["editbench", "build-prompts", "--dataset-name", "folder", "--save-path", "x.jsonl"], "folder", 2),
    (["repos", "structure", "--repo", "structures", "--out", "folder"], "folder", 2),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "named", "code"), CASES, ids=lambda v: " ".join(v[:3]) if isinstance(v, list) else ""
)
def test_one_line_naming_the_path(
    command: list[str], named: str, code: int, paths: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [arg.format(**paths) for arg in command]
    assert main(argv) == code
    err = [line for line in capsys.readouterr().err.splitlines() if "patchline.progress" not in line]
    assert len(err) == 1, err
    assert err[0].startswith("patchline: error: ") and named in err[0]
