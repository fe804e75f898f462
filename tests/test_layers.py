"""Imports run only downward (DESIGN.md, CONTRIBUTING.md): each part of Thermablate may import
only the parts below it.

Every import statement in the source is checked, including those inside functions (the usual
way to dodge a circular import is exactly the one to catch) and those in migrations.
"""

import ast
import shutil
from pathlib import Path

import thermablate

SRC = Path(thermablate.__file__).parent

# What each part may import from thermablate, besides itself. Bottom first.
_WEB_HELPERS = {"thermablate.web.forms", "thermablate.web.permissions", "thermablate.web.client"}
ALLOWED: dict[str, set[str]] = {
    # Reads the versioned data tables: the standard library only.
    "thermablate.datafiles": set(),
    "thermablate.physics": set(),  # numerics only
    "thermablate.planning": {"thermablate.physics", "thermablate.datafiles"},
    "thermablate.clinical": {"thermablate.datafiles"},
    # Shared form and view helpers of the web layer: Django only.
    "thermablate.web.forms": set(),
    "thermablate.web.permissions": set(),
    "thermablate.web.env": set(),
    "thermablate.web.client": {"thermablate.web.env"},
    # The NICE catalogue: a leaf app, it imports no other app.
    "thermablate.guidance": {"thermablate.clinical", *_WEB_HELPERS},
    "thermablate.registry": {
        "thermablate.guidance",
        "thermablate.clinical",
        "thermablate.planning",
        "thermablate.physics",
        *_WEB_HELPERS,
    },
    # Plans of an ablation: the planning core over the registry's records.
    "thermablate.plans": {
        "thermablate.registry",
        "thermablate.planning",
        "thermablate.physics",
        "thermablate.clinical",
        *_WEB_HELPERS,
    },
    # Patient-reported outcomes: contact, invitations, the patient's pages, reminders.
    "thermablate.proms": {"thermablate.registry", "thermablate.clinical", *_WEB_HELPERS},
    "thermablate.audit": {
        "thermablate.proms",
        "thermablate.plans",
        "thermablate.registry",
        "thermablate.guidance",
        "thermablate.clinical",
        *_WEB_HELPERS,
    },
    # The shell: the Django project (settings, URLs, middleware, sign-in) and the console
    # script put everything together, so they may import anything.
    "thermablate.web": {"thermablate"},
    "thermablate.cli": {"thermablate"},
}


def _part_of(module: str) -> str | None:
    """The most specific entry of ALLOWED that ``module`` belongs to."""
    candidates = [p for p in ALLOWED if module == p or module.startswith(p + ".")]
    return max(candidates, key=len) if candidates else None


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str, root: Path) -> bool:
    relative = Path(*name.split(".")[1:])
    return (root / relative).with_suffix(".py").exists() or (root / relative).is_dir()


def _imports(path: Path, module: str, root: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                package = module.split(".")
                if path.name != "__init__.py":
                    package.pop()
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # "from thermablate.web import forms" imports the module thermablate.web.forms
            submodules = [f"{target}.{a.name}" for a in node.names]
            if submodules and all(_is_module(m, root) for m in submodules):
                found += [(node.lineno, m) for m in submodules]
            else:
                found.append((node.lineno, target))
    return [(line, name) for line, name in found if name.split(".")[0] == "thermablate"]


def _may_import(importer_part: str, target: str) -> bool:
    target_part = _part_of(target)
    if target_part is None:  # the package root, "thermablate" itself
        return True
    if target_part == importer_part:
        return True
    return any(target == a or target.startswith(a + ".") for a in ALLOWED[importer_part])


def layer_violations(root: Path = SRC) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        part = _part_of(module)
        if part is None:
            continue
        for line, target in _imports(path, module, root):
            if not _may_import(part, target):
                problems.append(f"{path.relative_to(root.parent)}:{line}: {part} imports {target}")
    return problems


def test_imports_run_only_downward():
    assert layer_violations() == []


# The five kinds of back-up import the architecture review found (issue #10); the check must
# report each of them if one came back.
BACK_UP_IMPORTS = {
    "physics/scenario.py": "def _anatomy():\n    from thermablate.planning import anatomy\n",
    "physics/results.py": "from thermablate.planning.safety import neural_verdict\n",
    "guidance/models.py": "from thermablate.registry.models import Procedure, Site\n",
    "guidance/views.py": "from thermablate.registry.views import apply_errors\n",
    "guidance/forms.py": "from thermablate.registry import choices as registry_choices\n",
}


def test_the_check_reports_each_back_up_import(tmp_path):
    copy = tmp_path / "thermablate"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "static", "data"))
    for relative, code in BACK_UP_IMPORTS.items():
        target = copy / relative
        target.write_text(target.read_text(encoding="utf-8") + "\n\n" + code, encoding="utf-8")
    found = "\n".join(layer_violations(copy))
    for relative in BACK_UP_IMPORTS:
        assert f"thermablate/{relative}:" in found, relative
    # and nothing else: the copy is otherwise today's clean tree
    assert {v.split(":")[0].removeprefix("thermablate/") for v in found.splitlines()} == set(
        BACK_UP_IMPORTS
    )


def test_a_relative_import_is_resolved_before_it_is_judged(tmp_path):
    copy = tmp_path / "thermablate"
    (copy / "physics").mkdir(parents=True)
    (copy / "physics" / "__init__.py").write_text("")
    (copy / "physics" / "grid.py").write_text("from ..planning import anatomy\n")
    assert layer_violations(copy) == [
        "thermablate/physics/grid.py:1: thermablate.physics imports thermablate.planning"
    ]
