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
    # one definition per modality and task, under both the library and the pipeline
    "components.features": (
        *(f"components.{p}" for p in ("automl", "data", "pipeline", "tracking", "serving", "evaluation", "encoders")),
        *("tensorflow", "keras", "mlflow", "great_expectations"),
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
    # infrastructure starts servers as subprocesses; it never loads what they run
    "components.infra": (
        *(f"components.{p}" for p in ("automl", "data", "pipeline", "tracking", "serving", "evaluation", "encoders")),
        *("tensorflow", "keras", "mlflow", "great_expectations"),
    ),
    "components.tracking": ("components.automl", "components.data", "components.pipeline", "components.serving"),
}
# exceptions to FORBIDDEN, by package: the library serves each head's choice of network, classical model
# or blend (`AutoModel(head_models=...)`) through the rule the pipeline uses; both modules are leaves on
# numpy and scikit-learn, so the library gains no data, tracking or plotting side
ALLOWED = {"components.automl": ("components.evaluation.blend", "components.evaluation.classical")}
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
                allowed = ALLOWED.get(package, ())
                if (
                    _under(name, package)
                    and any(_under(target, b) for b in banned)
                    and not any(_under(target, a) for a in allowed)
                ):
                    out.append(f"{name} imports {target}")
            for library, allowed in ONLY_IN.items():
                if _under(target, library) and not any(_under(name, a) for a in allowed):
                    out.append(f"{name} imports {target}")
    return sorted(set(out))


def test_the_code_keeps_the_dependency_rule():
    assert violations(ROOT) == []


def import_circles(root: Path) -> list[list[str]]:
    """Every set of modules under root/components and root/flows that import each other in a circle (module
    level or inside functions; a module importing its own package's `__init__` does not count)."""
    paths = {
        module_name(p, root): p for p in sorted(root.glob("components/**/*.py")) + sorted(root.glob("flows/**/*.py"))
    }
    graph = {}
    for name, path in paths.items():
        targets = set()
        for target in imports(path):
            while target and target not in paths:  # `from a.b import name` → the module a.b
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)
        graph[name] = targets
    return [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_no_module_imports_itself_in_a_circle():
    assert import_circles(ROOT) == []


def test_an_import_circle_is_caught(tmp_path):
    files = {
        "components/__init__.py": "",
        "components/data/__init__.py": "",
        "components/data/a.py": "from components.data.b import thing\n",
        "components/data/b.py": "def f():\n    from components.data import a\n",
        "components/data/c.py": "from components.data import a\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert import_circles(tmp_path) == [["components.data.a", "components.data.b"]]


def test_a_forbidden_import_is_caught(tmp_path):
    for module, text in {
        "components/__init__.py": "",
        "components/automl/__init__.py": "",
        "components/automl/heads.py": "def f():\n    from components.data import records\n",
        "components/data/__init__.py": "import mlflow\n",
        "components/evaluation/__init__.py": "from components.errors import InputError\n",
        "components/features/__init__.py": "from components.errors import InputError\n",
        "components/features/datetime.py": "import tensorflow as tf\nfrom components.data import spec\n",
        "flows/__init__.py": "from components import pipeline\n",
    }.items():
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text(text)
    assert violations(tmp_path) == [
        "components.automl.heads imports components.data",
        "components.automl.heads imports components.data.records",
        "components.data imports mlflow",
        "components.features.datetime imports components.data",
        "components.features.datetime imports components.data.spec",
        "components.features.datetime imports tensorflow",
    ]


def test_the_library_may_import_the_blend_and_the_classical_model_but_no_other_evaluation_module(tmp_path):
    for module, text in {
        "components/__init__.py": "",
        "components/automl/__init__.py": "",
        "components/automl/head_models.py": (
            "from components.evaluation.blend import choose\n"
            "from components.evaluation.classical import ClassicalColumns\n"
            "from components.evaluation import metrics\n"
        ),
    }.items():
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text(text)
    assert violations(tmp_path) == [
        "components.automl.head_models imports components.evaluation",
        "components.automl.head_models imports components.evaluation.metrics",
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
