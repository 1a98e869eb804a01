"""The dependency rule of docs/DESIGN.md, enforced: every import in components/ and flows/ is walked
(module level and inside functions) and checked against what each package may import."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package prefix → imported-module prefixes it must never import
FORBIDDEN = {
    "components": ("prefect", "flows"),
    "components.automl": (
        "components.data",
        "components.pipeline",
        "components.tracking",
        "components.serving",
        "components.evaluation",
        "mlflow",
        "great_expectations",
    ),
    "components.data": (
        "components.automl",
        "components.pipeline",
        "components.tracking",
        "components.serving",
        "mlflow",
    ),
    "components.encoders": (
        "components.automl",
        "components.data",
        "components.pipeline",
        "components.tracking",
        "components.serving",
        "components.evaluation",
        "mlflow",
        "great_expectations",
    ),
    "components.evaluation": (
        "components.automl",
        "components.data",
        "components.pipeline",
        "components.tracking",
        "components.serving",
        "components.encoders",
        "tensorflow",
        "keras",
        "mlflow",
    ),
    "components.serving": ("components.pipeline", "components.tracking"),
    "components.tracking": ("components.automl", "components.data", "components.pipeline", "components.serving"),
}
# third-party packages only these modules may import
ONLY_IN = {
    "mlflow": ("components.tracking", "components.serving.pyfunc", "components.serving.model_code"),
    "great_expectations": ("components.data.validation.suite",),
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # Braid uses absolute imports only; a relative one is kept visibly relative.
            module = "." * node.level + (node.module or "")
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path) -> list[str]:
    """Every forbidden import under root/components and root/flows, as 'module imports target'."""
    out = []
    for path in sorted(root.glob("components/**/*.py")) + sorted(root.glob("flows/**/*.py")):
        name = module_name(path, root)
        for target in imports(path):
            for package, banned in FORBIDDEN.items():
                if _under(name, package) and any(_under(target, b) for b in banned):
                    out.append(f"{name} imports {target}")
            for library, allowed in ONLY_IN.items():
                if _under(target, library) and not any(_under(name, a) for a in allowed):
                    out.append(f"{name} imports {target}")
    return sorted(set(out))


def test_the_code_keeps_the_dependency_rule():
    assert violations(ROOT) == []


def test_a_forbidden_import_is_caught(tmp_path):
    for module, text in {
        "components/__init__.py": "",
        "components/automl/__init__.py": "",
        "components/automl/heads.py": "def f():\n    from components.data import records\n",
        "components/data/__init__.py": "import mlflow\n",
        "components/evaluation/__init__.py": "from components.errors import InputError\n",
        "flows/__init__.py": "from components import pipeline\n",
    }.items():
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text(text)
    assert violations(tmp_path) == [
        "components.automl.heads imports components.data",
        "components.automl.heads imports components.data.records",
        "components.data imports mlflow",
    ]


def test_reading_a_contract_and_validating_do_not_import_tensorflow():
    """`braid validate` and `braid contract infer` stay light: no TensorFlow behind them."""
    import subprocess
    import sys

    code = (
        "import sys; import flows.cli, components.data.validation, components.pipeline.prepare, "
        "components.data.infer; "
        "from components.data.contract import load_contract; load_contract('data_contracts/movies.yaml'); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
