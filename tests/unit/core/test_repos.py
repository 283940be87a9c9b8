"""Repository snapshots without git: folders, Agentless structure JSON, Python definition spans."""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from patchline.core.errors import InputError, UnsafePathError
from patchline.core.repos import (
    DirSnapshot,
    PythonSyntaxError,
    RepoSnapshot,
    StructureSnapshot,
    build_structure,
    decode_text,
    file_entry,
    find_definition_span,
    load_structure_file,
    open_snapshot,
    python_definitions,
    split_lines,
    structure_path,
    validate_commit,
)

pytestmark = pytest.mark.unit


def _installed(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.fixture(scope="module")
def flask_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the installed flask package plus a binary file, a symlink out of the tree and a .git folder."""
    root = tmp_path_factory.mktemp("flask-tree") / "repo"
    shutil.copytree(_installed("flask"), root / "flask")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "outside_link.py").symlink_to("/etc/hostname")
    (root / "flask" / "blob.bin").write_bytes(bytes(range(256)))
    return root


# -- python_definitions / find_definition_span --------------------------------------------------------


def test_definitions_of_a_real_module_match_ast() -> None:
    source = (_installed("flask") / "app.py").read_text(encoding="utf-8")
    definitions = python_definitions(source)
    tree = ast.parse(source)
    flask_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Flask")
    assert find_definition_span(source, "class", "Flask") == (flask_class.lineno, flask_class.end_lineno)
    methods = [n for n in flask_class.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    assert {d.name for d in definitions if d.kind == "method" and d.name.startswith("Flask.")} == {
        f"Flask.{m.name}" for m in methods
    }
    for method in methods:
        assert find_definition_span(source, "function", f"Flask.{method.name}") == (method.lineno, method.end_lineno)
    assert [d.start_line for d in definitions] == sorted(d.start_line for d in definitions)


def test_decorators_are_not_part_of_a_span_and_async_and_guarded_definitions_count() -> None:
    source = (
        "import sys\n"  # 1
        "@decorator\n"  # 2
        "def f():\n"  # 3
        "    def inner():\n"  # 4
        "        pass\n"  # 5
        "if sys.version_info > (3,):\n"  # 6
        "    async def g():\n"  # 7
        "        pass\n"  # 8
        "class A:\n"  # 9
        "    @property\n"  # 10
        "    def f(self):\n"  # 11
        "        return 1\n"  # 12
        "    class Inner:\n"  # 13
        "        def m(self): ...\n"  # 14
    )
    assert find_definition_span(source, "function", "f") == (3, 5)
    assert find_definition_span(source, "function", "inner") is None  # nested functions are not listed
    assert find_definition_span(source, "function", "g") == (7, 8)
    assert find_definition_span(source, "function", "A.f") == (11, 12)
    assert find_definition_span(source, "method", "A.f") == (11, 12)
    assert find_definition_span(source, "class", "Inner") == (13, 14)
    assert find_definition_span(source, "function", "Inner.m") == (14, 14)
    assert find_definition_span(source, "function", "A.missing") is None
    assert find_definition_span(source, "class", "") is None


def test_unparsable_source_raises_instead_of_returning_nothing() -> None:
    with pytest.raises(PythonSyntaxError, match="x.py:1"):
        python_definitions("def broken(:\n", filename="x.py")
    with pytest.raises(PythonSyntaxError):
        python_definitions("a = 1\x00\n")


# -- lines and text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lines"),
    [("", []), ("a\n", ["a"]), ("a", ["a"]), ("a\r\nb\rc\n", ["a", "b", "c"]), ("a\x0cb\n\n", ["a\x0cb", ""])],
)
def test_split_lines_splits_where_python_does(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines


def test_decode_text_refuses_binary_and_non_utf8() -> None:
    assert decode_text("café\n".encode()) == "café\n"
    assert decode_text(b"\x00\x01") is None
    assert decode_text("café".encode("latin-1")) is None


# -- DirSnapshot ------------------------------------------------------------------------------------


def test_dir_snapshot_lists_regular_files_only(flask_tree: Path) -> None:
    snapshot = DirSnapshot(flask_tree)
    assert isinstance(snapshot, RepoSnapshot)
    files = snapshot.list_files()
    assert "flask/app.py" in files and "flask/json/tag.py" in files
    assert not any(f.startswith(".git/") for f in files)
    assert "outside_link.py" not in files and snapshot.read_text("outside_link.py") is None
    assert files == sorted(files)
    assert snapshot.read_text("flask/app.py") == (flask_tree / "flask" / "app.py").read_text(encoding="utf-8")
    pyc = "flask/blob.bin"
    assert snapshot.read_bytes(pyc) is not None and snapshot.read_text(pyc) is None
    for attack in ("../etc/passwd", "/etc/passwd", ".git/HEAD", "flask/../../x", "missing.py"):
        assert snapshot.read_text(attack) is None
    assert dict(snapshot.iter_texts(["flask/app.py", "missing.py", pyc])).keys() == {"flask/app.py"}
    assert all(snapshot.size_of(f) == (flask_tree / f).stat().st_size for f in files)
    assert snapshot.size_of("outside_link.py") is None and snapshot.size_of("../etc/passwd") is None


def test_dir_snapshot_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        DirSnapshot(tmp_path / "missing")


# -- structure JSON ----------------------------------------------------------------------------------


def test_structure_from_a_real_package_reads_back(flask_tree: Path, tmp_path: Path) -> None:
    snapshot = DirSnapshot(flask_tree)
    document = build_structure(snapshot, repo="pallets/flask", instance_id="pallets__flask-1")
    assert document["repo"] == "pallets/flask" and document["instance_id"] == "pallets__flask-1"
    app = document["structure"]["flask"]["app.py"]
    assert set(app) == {"classes", "functions", "text"}
    flask_class = next(c for c in app["classes"] if c["name"] == "Flask")
    assert set(flask_class) == {"name", "start_line", "end_line", "text", "methods"}
    assert flask_class["text"] == app["text"][flask_class["start_line"] - 1 : flask_class["end_line"]]
    assert document["structure"]["flask"]["py.typed"] == {}
    path = tmp_path / "pallets__flask-1.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    loaded = load_structure_file(str(path))
    assert loaded.list_files() == snapshot.list_files()
    for name, text in snapshot.iter_texts():
        if name.endswith(".py"):
            assert loaded.read_text(name) == text, name
            assert loaded.size_of(name) == len(text.encode()), name
        else:
            assert loaded.read_text(name) is None and loaded.size_of(name) == 0
    assert loaded.size_of("missing.py") is None
    entry = loaded.entry("flask/app.py")
    assert entry is not None
    source = snapshot.read_text("flask/app.py")
    assert source is not None
    for location in ("Flask", "Flask.wsgi_app", "Flask.__call__"):
        kind = "class" if "." not in location else "function"
        assert find_definition_span(entry, kind, location) == find_definition_span(source, kind, location)


def test_structure_entry_of_unparsable_and_non_python_files() -> None:
    """As Agentless' parser: a .py file it cannot read or parse has no lines (``"text": ""``)."""
    unreadable = {"classes": [], "functions": [], "text": ""}
    assert file_entry("pkg/broken.py", "x = 1\ndef broken(:\n") == unreadable
    assert file_entry("pkg/nul.py", "x = 1\x00\n") == unreadable
    assert file_entry("pkg/data.bin", None) == {}
    assert file_entry("README.md", "# readme\n") == {}
    assert file_entry("pkg/latin1.py", None) == unreadable


def test_reading_an_agentless_layout_document() -> None:
    """Agentless nests root files under the repo folder, writes ``"text": ""`` for unparsable files."""
    document = {
        "repo": "pallets/flask",
        "base_commit": "abc123",
        "instance_id": "pallets__flask-4045",
        "structure": {
            "flask": {
                "setup.py": {"classes": [], "functions": [], "text": ["from setuptools import setup", "setup()"]},
                "broken.py": {"classes": [], "functions": [], "text": ""},
                ".git": {"HEAD": {}},
                "src": {"flask": {"__init__.py": {"classes": [], "functions": [], "text": []}, "py.typed": {}}},
            }
        },
    }
    snapshot = StructureSnapshot.from_document(document)
    assert snapshot.commit == "abc123"
    assert snapshot.list_files() == [
        "flask/broken.py",
        "flask/setup.py",
        "flask/src/flask/__init__.py",
        "flask/src/flask/py.typed",
    ]
    assert snapshot.read_text("flask/setup.py") == "from setuptools import setup\nsetup()\n"
    assert snapshot.read_text("flask/src/flask/__init__.py") == ""
    assert snapshot.read_text("flask/broken.py") is None
    assert snapshot.read_text("flask/src/flask/py.typed") is None
    assert snapshot.read_text("missing.py") is None


def test_a_whole_document_passed_to_the_constructor_is_understood() -> None:
    document = {
        "base_commit": "abc123",
        "structure": {"pkg": {"a.py": {"classes": [], "functions": [], "text": ["x"]}}},
    }
    snapshot = StructureSnapshot(document)
    assert snapshot.commit == "abc123" and snapshot.list_files() == ["pkg/a.py"]
    nested_only = StructureSnapshot(document["structure"], commit="c1")
    assert nested_only.commit == "c1" and nested_only.read_text("pkg/a.py") == "x\n"


def test_root_folder_reproduces_agentless_nesting(flask_tree: Path) -> None:
    document = build_structure(DirSnapshot(flask_tree / "flask"), root_folder="flask")
    assert "app.py" in document["structure"]["flask"] and "tag.py" in document["structure"]["json"]


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"structure": []},
        {"structure": {"a.py": "text"}},
        {"structure": {"a.py": {"classes": [], "functions": [], "text": [1]}}},
    ],
)
def test_malformed_structure_documents_are_input_errors(document: dict[str, object]) -> None:
    with pytest.raises(InputError):
        StructureSnapshot.from_document(document).read_text("a.py")


def test_load_structure_file_reports_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="x.json"):
        load_structure_file(str(path))


# -- paths, commits, dispatch -------------------------------------------------------------------------


def test_structure_path_joins_a_safe_instance_id(tmp_path: Path) -> None:
    assert structure_path(str(tmp_path), "django__django-11099") == str(tmp_path / "django__django-11099.json")
    assert structure_path("s3://bucket/structures/", "a__b-1") == "s3://bucket/structures/a__b-1.json"


@pytest.mark.parametrize(
    "instance_id", ["..", "../x", "a/b", "/etc/passwd", "a\\b", "nul\x00", "line\nbreak", "x" * 300]
)
def test_structure_path_never_leaves_its_folder(tmp_path: Path, instance_id: str) -> None:
    path = Path(structure_path(str(tmp_path), instance_id))
    assert path.parent == tmp_path and path.name.endswith(".json") and not path.name.startswith(".")
    assert len(path.name.encode()) < 120


def test_structure_path_refuses_an_empty_id(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        structure_path(str(tmp_path), "")


@pytest.mark.parametrize("commit", ["3b6a8e5", "HEAD", "main", "HEAD~1", "v1.2.3", "origin/main", "a" * 40])
def test_safe_commits_pass(commit: str) -> None:
    assert validate_commit(commit) == commit


@pytest.mark.parametrize(
    "commit",
    [
        "",
        "--output=/tmp/x",
        "-p",
        "HEAD..main",
        "main@{1}",
        "a b",
        "HEAD:file",
        "x;rm -rf /",
        "a\nb",
        ".hidden",
        "ref.lock",
    ],
)
def test_unsafe_commits_are_refused(commit: str) -> None:
    with pytest.raises(InputError):
        validate_commit(commit)


def test_open_snapshot_picks_by_input(flask_tree: Path, tmp_path: Path) -> None:
    assert isinstance(open_snapshot(str(flask_tree), None), DirSnapshot)
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"structure": {"a.py": {"classes": [], "functions": [], "text": ["x"]}}}))
    structure = open_snapshot(str(path), None)
    assert isinstance(structure, StructureSnapshot) and structure.read_text("a.py") == "x\n"
    with pytest.raises(InputError):
        open_snapshot(str(tmp_path / "missing"), "HEAD")
