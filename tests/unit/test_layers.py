"""The layers on disk hold: ``api/workflow`` (use cases, ports, domain types) reaches the
database and Orthanc only through its ports (issue 17).

The test reads every module's imports (``ast``, so nothing is imported) and fails when a
workflow module imports SQLAlchemy, ``api.db``, an adapter (the SQL stores, the index
store, the PACS gateway) or ``pacs`` directly. ``STILL_TO_MOVE`` lists what the workflow
still imports today, module by module: it may only shrink (a module that no longer
imports what is listed fails too, so the list is kept exact).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).resolve().parents[2] / "api" / "workflow"
FORBIDDEN = ("sqlalchemy", "api.db", "api.adapters", "pacs")

#: What each workflow module still imports from the forbidden layers (to be moved behind a
#: port). Empty it, never extend it.
STILL_TO_MOVE: dict[str, set[str]] = {}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _forbidden(path: Path) -> set[str]:
    return {name for name in _imports(path)
            if any(name == root or name.startswith(root + ".") for root in FORBIDDEN)}


MODULES = sorted(WORKFLOW.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_workflow_reaches_the_database_and_orthanc_only_through_ports(path: Path) -> None:
    assert _forbidden(path) == STILL_TO_MOVE.get(path.stem, set()), (
        f"api/workflow/{path.name} imports {sorted(_forbidden(path))}: a database or "
        "Orthanc call belongs in api/adapters, behind a port of api/workflow/ports.py")


def test_the_list_of_what_is_still_to_move_names_existing_modules() -> None:
    assert set(STILL_TO_MOVE) <= {p.stem for p in MODULES}


def test_the_walk_finds_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from sqlalchemy import select\nimport pacs.orthanc\nfrom . import x\n")
    assert _forbidden(module) == {"sqlalchemy", "pacs.orthanc"}


def _loaded_by(code: str) -> set[str]:
    """The forbidden modules a fresh interpreter has loaded after running ``code``."""
    probe = (f"import sys\n{code}\n"
             "print('\\n'.join(sorted(m for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=WORKFLOW.parents[1]).stdout.split()
    return {name.split(".")[0] if name.startswith("sqlalchemy") else name for name in out
            if any(name == root or name.startswith(root + ".") for root in FORBIDDEN)}


def test_no_forbidden_module_comes_in_by_another_way() -> None:
    """Every workflow module imported (and what they import, all the way down) loads no
    SQLAlchemy, api.db, adapter or pacs module: the walk above reads direct imports only."""
    imports = "\n".join(f"import api.workflow.{p.stem}" for p in MODULES)
    assert _loaded_by(imports) == set()


def test_the_fakes_need_no_database() -> None:
    """The unit tests' fakes run the workflow without SQLAlchemy or api.db (issue 16)."""
    assert {m for m in _loaded_by("import tests.unit.workflow_fakes")
            if not m.startswith("pacs")} == set()


# -- services that don't lean on each other ------------------------------------------------

REPORT = WORKFLOW.parent / "report"
#: Use-case classes not named ``...Service``.
OTHER_SERVICES = {"SecondReadings"}


def _classes(path: Path) -> list[ast.ClassDef]:
    return [node for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, ast.ClassDef)]


SERVICES = {cls.name for path in MODULES for cls in _classes(path)
            if cls.name.endswith("Service") or cls.name in OTHER_SERVICES}


def _named(node: ast.AST | None) -> set[str]:
    """The names an expression or annotation mentions (``a.B`` and ``"B"`` count as B)."""
    if node is None:
        return set()
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            found.update(sub.value.replace("[", " ").replace("]", " ").replace(",", " ")
                         .split())
    return found


def _leaning(path: Path, services: set[str]) -> list[str]:
    """Where a module builds a service, or a service (or the report) takes one."""
    tree = ast.parse(path.read_text(), str(path))
    found = [f"{path.name}:{node.lineno} builds {node.func.id}" for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id in services]
    found += [f"{path.name}:{node.lineno} builds {node.func.attr}" for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in services]
    takers = [fn for cls in _classes(path) if cls.name in services for fn in cls.body
              if isinstance(fn, ast.FunctionDef) and fn.name == "__init__"]
    if path.parent.name == "report":
        takers += [fn for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)]
        found += [f"{path.name}:{node.lineno} names {sorted(_named(node.value) & services)}"
                  for node in ast.walk(tree) if isinstance(node, ast.Assign)
                  and _named(node.value) & services]
    for fn in takers:
        for arg in [*fn.args.args, *fn.args.kwonlyargs]:
            taken = _named(arg.annotation) & services
            if taken:
                found.append(f"{path.name}:{fn.lineno} {fn.name} takes {sorted(taken)}")
    return found


def test_the_services_are_found() -> None:
    assert {"CaseService", "DocumentService", "RegistrationService", "ShareService",
            "SecondReadings"} <= SERVICES


@pytest.mark.parametrize("path", [*MODULES, *sorted(REPORT.glob("*.py"))],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_service_builds_or_wraps_another(path: Path) -> None:
    """Services load cases through a CaseReader they are given (issue 17): no workflow
    module or report module builds a service, no service takes another, and the report
    takes none."""
    assert _leaning(path, SERVICES) == []


def test_the_walk_finds_a_service_leaning_on_another(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("class AService:\n    def __init__(self, cases: 'CaseService') -> None:\n"
                      "        self.regs = RegistrationService(cases.reader)\n")
    assert _leaning(module, SERVICES | {"AService"}) == [
        "bad.py:3 builds RegistrationService", "bad.py:2 __init__ takes ['CaseService']"]
    report = tmp_path / "report"
    report.mkdir()
    pdf = report / "pdf.py"
    pdf.write_text("def build(cases: CaseService) -> None: ...\n"
                   "Builder = Callable[[DocumentService], bytes]\n")
    assert _leaning(pdf, SERVICES) == ["pdf.py:2 names ['DocumentService']",
                                       "pdf.py:1 build takes ['CaseService']"]
