"""`braid`: the command line. Every command calls a flow or a library function; errors are one line.

Example:
    braid demo                                   # demo data + the whole pipeline, small budget
    braid demo --contract multimodal             # + audio clips and sensor series, three heads
    braid run data_contracts/posters.yaml --max-trials 3 --epochs 5
    braid validate data_contracts/movies.yaml
    braid contract infer data.csv --target label -o data_contracts/mine.yaml
    braid score data_contracts/demo.yaml new_rows.csv
    braid ui
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from components.errors import BraidError, DataValidationError
from components.layout import Layout, check_writable
from components.settings import TELEMETRY_OFF
from flows.local_api import local_api

if TYPE_CHECKING:
    from components.infra.stack import Stack

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Braid: multimodal, multi-task AutoML pipelines from a data contract.",
)
contract_app = typer.Typer(no_args_is_help=True, help="Write and check data contracts.")
app.add_typer(contract_app, name="contract")
stack_app = typer.Typer(
    no_args_is_help=True,
    help="A local PostgreSQL + MLflow + Prefect stack with a worker, without docker (under the Braid home).",
)
app.add_typer(stack_app, name="stack")
console = Console()
err = Console(stderr=True)


@app.callback()
def _main() -> None:
    # Only as the `braid` command: a test or notebook importing this module keeps its own stderr.
    if Path(sys.argv[0]).name == "braid":
        from flows.native_logs import quiet_native_logs

        quiet_native_logs()


PROJECT_ROOT = Path(__file__).resolve().parents[1]

_OFFLINE_ENV = {
    **TELEMETRY_OFF,
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # Prefect's console stays quiet (Braid prints its own summary); its API and UI still get INFO logs.
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    # MLflow's INFO lines (creating the store's tables, validating an input example) are its own business.
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    # The ephemeral API starts in a subprocess; on a busy 2-core machine 20 s (the default) is too short.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}


def _prepare_env() -> None:
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    home = Layout.default().home
    check_writable(home)  # before Prefect tries to start its local API in there
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))


class _NoTracebackForBraidErrors(logging.Filter):
    """Prefect logs a failed task's exception with its traceback; for Braid's own errors the one-line
    message is the whole story (the CLI prints it), so drop the traceback from what reaches stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, BraidError) or isinstance(getattr(exc, "__cause__", None), BraidError):
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_braid_tracebacks() -> None:
    loggers = [logging.getLogger()] + [
        log for log in logging.Logger.manager.loggerDict.values() if isinstance(log, logging.Logger)
    ]
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING)
    for log in loggers:
        for handler in log.handlers:
            if not any(isinstance(f, _NoTracebackForBraidErrors) for f in handler.filters):
                handler.addFilter(_NoTracebackForBraidErrors())


def _guard(fn: Callable[[], Any]) -> Any:
    """Run `fn`; a Braid error (or a bad argument) is one clear line on stderr and exit code 2."""
    try:
        return fn()
    except DataValidationError as exc:  # its message is the validation report, in Markdown
        _markdown(str(exc), err)
        raise typer.Exit(2) from None
    except BraidError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        err.print(f"[bold red]error:[/] {exc.strerror or exc}{where}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None


def _positive(name: str, value: float | None) -> None:
    """A float option that must be over zero: typer's `min=` is inclusive, so 0 would pass it."""
    if value is not None and value <= 0:
        raise BraidError(f"--{name} must be a positive number, got {value}")


# Bounds of the search budget: typer checks them (click's "not in the range" usage error, exit code 2)
# before any work starts; more than these is a typo, not a budget.
MAX_TRIALS, MAX_EPOCHS = 10_000, 100_000


def _print_summary(summary: dict[str, Any]) -> None:
    trained = summary["trained"]
    better = "lower" if trained.get("direction", "min") == "min" else "higher"
    table = Table(title=f"Trial leaderboard (best first; {trained['objective']}: {better} is better)")
    for col in ("trial_id", "status", trained["objective"]):
        table.add_column(col)
    for row in trained["leaderboard"]:
        score = row.get("score")
        table.add_row(
            str(row.get("trial_id")), str(row.get("status")), f"{score:.4f}" if isinstance(score, (int, float)) else "-"
        )
    console.print(table)
    drift = summary["drift"]
    if drift["drifted"]:
        console.print(f"[yellow]Data drift against the champion's training data:[/] {', '.join(drift['drifted'])}")
    _markdown(summary["evaluated"]["table_markdown"])
    _markdown(summary["decision"]["markdown"])
    run = summary["run"]
    console.print(f"\nMLflow run: [bold]{run['run_id']}[/] in experiment [bold]{run['experiment']}[/]")
    console.print(f"Artifacts and store: {run['tracking_uri']}")
    console.print(f"Run report: [bold]{summary['report']}[/]", soft_wrap=True)


def _run_training(contract: Path, **settings: Any) -> dict[str, Any]:
    _prepare_env()
    from flows.training import training_pipeline

    _quiet_braid_tracebacks()
    _say(f"Running the pipeline on {contract}: validate → preprocess → search → evaluate → register")
    with local_api(), _progress():
        return training_pipeline(contract=str(contract), **settings)


def _markdown(text: str, to: Console = console) -> None:
    """Markdown drawn for the console (headings, lists, tables; no `##` or backticks left)."""
    from rich.markdown import Markdown

    to.print(Markdown(text))


@contextlib.contextmanager
def _progress() -> Iterator[None]:
    """Progress fed by `components.progress`: on a terminal, a rich progress line (the stage, how far
    it is, time left); in a log (no terminal), one line per stage and per milestone (each trial's end)."""
    from components.progress import listen

    if not console.is_terminal:
        with listen(_LogLines()):
            yield
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[stage]:<10}"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None, stage="start")

        def show(event) -> None:
            bar.update(
                task,
                description=event.detail or event.stage,
                stage=event.stage,
                completed=event.done or 0,
                total=event.total,
            )

        with listen(show):
            yield


class _LogLines:
    """Progress as lines for a log: a stage's first report, then only its milestones, with the time."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.started = time.monotonic()

    def __call__(self, event) -> None:
        if event.stage == self.stage and not event.milestone:
            return
        self.stage = event.stage
        elapsed = time.monotonic() - self.started
        _say(f"[{elapsed:6.0f} s] {event.stage:<10} {event.detail}".rstrip())


@app.command()
def run(
    contract: Annotated[Path, typer.Argument(help="The data contract YAML.")],
    max_trials: Annotated[
        Optional[int],
        typer.Option(
            min=1, max=MAX_TRIALS, help="Models the search may try (default: the contract's training.max_trials, 3)."
        ),
    ] = None,
    epochs: Annotated[
        Optional[int], typer.Option(min=1, max=MAX_EPOCHS, help="Epochs per trial (default: the contract's, 5).")
    ] = None,
    time_budget: Annotated[Optional[float], typer.Option(help="Seconds after which no new trial starts.")] = None,
    tuner: Annotated[
        Optional[str], typer.Option(help="greedy | random | bayesian | hyperband (default: the contract's, greedy)")
    ] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the search (default: the contract's, 0).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Rows per step (default: picked from the data).")] = None,
    workers: Annotated[
        Optional[int],
        typer.Option(min=1, help="Search worker processes sharing one oracle (default: the contract's, 1)."),
    ] = None,
) -> None:
    """Run the whole training pipeline on CONTRACT."""

    def _do() -> None:
        _positive("time-budget", time_budget)
        summary = _run_training(
            contract,
            max_trials=max_trials,
            epochs=epochs,
            time_budget=time_budget,
            tuner=tuner,
            seed=seed,
            batch_size=batch_size,
            workers=workers,
        )
        _print_summary(summary)

    _guard(_do)


@app.command()
def validate(contract: Annotated[Path, typer.Argument(help="The data contract YAML.")]) -> None:
    """Check CONTRACT's data against its expectations (Great Expectations); no training."""

    def _do() -> None:
        _prepare_env()
        from components.data.contract import load_contract
        from components.pipeline import prepare as pipeline

        loaded = load_contract(contract)
        layout = Layout.default()
        with console.status(f"Validating {loaded.source.path}"):
            report = pipeline.validate(loaded, layout, pipeline.fingerprint(loaded))
        _markdown(report.summary_markdown)  # it ends with where the results and Data Docs are

    _guard(_do)


@contract_app.command("infer")
def contract_infer(
    data: Annotated[Path, typer.Argument(help="A CSV or Parquet file.")],
    target: Annotated[Optional[list[str]], typer.Option(help="A column to predict (repeat for several).")] = None,
    image_root: Annotated[Optional[Path], typer.Option(help="Directory image paths are relative to.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Contract name (default: the file's stem).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Write a starting contract for DATA, guessing each column's modality, for you to edit."""

    def _do() -> None:
        from components.data.infer import infer_contract

        text = infer_contract(data, name=name, image_root=image_root, targets=tuple(target or ()))
        if output:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
            console.print(f"wrote {output}; review it, then: braid validate {output}")
        else:
            sys.stdout.write(text)

    _guard(_do)


@app.command()
def score(
    contract: Annotated[Path, typer.Argument(help="The data contract YAML (names the registered model).")],
    data: Annotated[Path, typer.Argument(help="CSV or Parquet rows to score.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Parquet file to write.")] = None,
    alias: Annotated[str, typer.Option(help="Registry alias to score with.")] = "champion",
    on_bad_rows: Annotated[
        str,
        typer.Option(
            help="fail: a row that cannot be read (e.g. a missing image) stops the scoring, naming it; "
            "skip: score the others, give it null predictions and its reason in `__error`."
        ),
    ] = "fail",
) -> None:
    """Score DATA with the contract's `champion` model; writes predictions to Parquet."""

    def _do() -> None:
        if on_bad_rows not in ("fail", "skip"):
            raise BraidError(f"--on-bad-rows must be fail or skip, got {on_bad_rows!r}")
        _prepare_env()
        from flows.scoring import scoring_pipeline

        _quiet_braid_tracebacks()
        with local_api():
            result = scoring_pipeline(
                contract=str(contract),
                data=str(data),
                output=str(output) if output else None,
                alias=alias,
                on_bad_rows=on_bad_rows,
            )
        skipped = f" ({result['skipped']} skipped: see their `__error`)" if result["skipped"] else ""
        console.print(f"scored {result['rows']} rows{skipped} with {result['model_uri']} → {result['output']}")

    _guard(_do)


class Demo(str, Enum):
    demo = "demo"
    multimodal = "multimodal"


DemoOption = Annotated[
    Demo,
    typer.Option(
        "--contract",
        help="demo: images, text, numbers, a category and dates (data_contracts/demo.yaml); multimodal: "
        "also a sound clip and a vibration series per row, three heads (data_contracts/demo_multimodal.yaml).",
    ),
]


def _write_demo(which: Demo, out: Path | None, rows: int) -> tuple[Path, Path]:
    """Write demo `which`'s data into `out` (default: under the Braid home); return (the data file, its contract)."""
    layout = Layout.default()
    if which is Demo.multimodal:
        from components.data.demo_multimodal import write_multimodal_demo_data

        data = write_multimodal_demo_data(out or layout.multimodal_demo_data, n_rows=rows)
        return data, PROJECT_ROOT / "data_contracts" / "demo_multimodal.yaml"
    from components.data.demo import write_demo_data

    return write_demo_data(out or layout.demo_data, n_rows=rows), PROJECT_ROOT / "data_contracts" / "demo.yaml"


@app.command("demo-data")
def demo_data(
    rows: Annotated[Optional[int], typer.Option(min=1, help="Rows to generate (demo: 3000, multimodal: 300).")] = None,
    out: Annotated[
        Optional[Path], typer.Option(help="Directory (default: .braid/demo or .braid/demo_multimodal).")
    ] = None,
    which: DemoOption = Demo.demo,
) -> None:
    """Generate a deterministic multimodal demo dataset."""

    def _do() -> None:
        path, _ = _write_demo(which, out, rows or (3000 if which is Demo.demo else 300))
        console.print(f"wrote {path}")

    _guard(_do)


@app.command()
def demo(
    rows: Annotated[Optional[int], typer.Option(min=1, help="Rows of demo data (demo: 2000, multimodal: 300).")] = None,
    max_trials: Annotated[int, typer.Option(min=1, max=MAX_TRIALS, help="Models the search may try.")] = 2,
    epochs: Annotated[int, typer.Option(min=1, max=MAX_EPOCHS, help="Epochs per trial.")] = 4,
    which: DemoOption = Demo.demo,
) -> None:
    """Generate the demo data and run the whole pipeline on it with a small budget."""

    def _do() -> None:
        _prepare_env()
        layout = Layout.default()
        console.rule("Braid demo")
        data, contract = _write_demo(which, None, rows or (2000 if which is Demo.demo else 300))
        console.print(f"1/2 demo data → {data}")
        console.print(f"2/2 pipeline on data_contracts/{contract.name}")
        summary = _run_training(contract, max_trials=max_trials, epochs=epochs, tuner="greedy", seed=0)
        _print_summary(summary)
        console.rule("Where things are")
        console.print(f"Braid home:        {layout.home}")
        console.print(f"MLflow store:      {layout.mlflow_uri}")
        console.print(f"Preprocessed data: {summary['prepared']['directory']}")
        runs = _runs_urls(layout, 5000)
        console.print(
            "Open the MLflow UI:  [bold]make ui[/]   (or: .venv/bin/braid ui) → "
            + next(iter(runs.values()), "http://127.0.0.1:5000"),
            soft_wrap=True,
        )
        console.print(f"Open the Prefect UI: {_prefect_ui_command()} → http://127.0.0.1:4200", soft_wrap=True)

    _guard(_do)


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the MLflow UI.")] = 5000,
    no_start: Annotated[bool, typer.Option("--print-only", help="Only print the commands.")] = False,
) -> None:
    """Start the MLflow UI on the project's store (127.0.0.1) and print how to open Prefect's."""
    _guard(_prepare_env)
    layout = Layout.default()
    store = os.environ.get("MLFLOW_TRACKING_URI", layout.mlflow_uri)
    # One worker: a local UI for one person needs no more (MLflow's default of 4 costs ~3 GB and seconds).
    mlflow_cmd = [
        str(Path(sys.executable).with_name("mlflow")),
        "ui",
        "--backend-store-uri",
        store,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # soft_wrap: a command is never broken across lines, so it can be copied even from a narrow terminal
    console.print(f"Prefect UI: {_prefect_ui_command()}  → http://127.0.0.1:4200", soft_wrap=True)
    console.print(f"MLflow UI:  {' '.join(mlflow_cmd)}  → http://127.0.0.1:{port}", soft_wrap=True)
    for name, url in _runs_urls(layout, port).items():
        console.print(f"  runs of {name}: {url}", soft_wrap=True)
    if not no_start:
        subprocess.run(mlflow_cmd, check=False)


@app.command()
def trials(
    contract: Annotated[Path, typer.Argument(help="The data contract YAML (names the registered model).")],
    weight: Annotated[
        Optional[list[str]], typer.Option(help="HEAD=W, once per head to weigh (default 1 each).")
    ] = None,
) -> None:
    """The champion's trials across heads: the Pareto front, and the trial these weights pick from it."""

    def _do() -> None:
        _prepare_env()
        from components.data.contract import load_contract
        from components.pipeline.trials import champion_front

        weights = {}
        for item in weight or []:
            head, _, value = item.partition("=")
            try:
                weights[head] = float(value)
            except ValueError:
                raise BraidError(f"--weight {item!r}: write HEAD=NUMBER, e.g. --weight genres=2") from None
        front = champion_front(load_contract(contract), Layout.default(), weights)
        table = Table(title=f"Trials of the champion's run {front.run_id} (best first)")
        for column in ("trial", "status", front.objective, *[f"val {h} loss" for h in front.heads], "Pareto", ""):
            table.add_column(column)
        for row in front.trials:
            losses = [f"{row[f'val/{h}_loss']:.4f}" if f"val/{h}_loss" in row else "-" for h in front.heads]
            marks = ("searched " if row["trial_id"] == front.searched else "") + (
                "← chosen" if row["trial_id"] == front.chosen else ""
            )
            score = row.get("score")
            table.add_row(
                str(row["trial_id"]),
                str(row["status"]),
                f"{score:.4f}" if isinstance(score, float) else "-",
                *losses,
                "yes" if row.get("pareto", True) else "",
                marks,
            )
        console.print(table)
        console.print(
            f"These weights pick trial {front.chosen}"
            + (
                ""
                if front.chosen == front.searched
                else f" (the search's objective picked {front.searched}): raise its heads' `loss_weight` in the contract "
                "to train towards it"
            )
        )

    _guard(_do)


def _prefect_ui_command() -> str:
    """The command that starts the Prefect UI on the project's Prefect home, analytics off."""
    return (
        f"PREFECT_HOME={os.environ['PREFECT_HOME']} PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 "
        f"{Path(sys.executable).with_name('prefect')} server start"
    )


def _runs_urls(layout: Layout, port: int) -> dict[str, str]:
    """The runs table of each Braid experiment in the store (none when the store cannot be read)."""
    from components.tracking import Tracker, TrackingConfig

    config = TrackingConfig.from_env(layout)
    if config.tracking_uri.startswith("sqlite:///") and not Path(config.tracking_uri[len("sqlite:///") :]).is_file():
        return {}  # no runs yet: do not create the store just to look
    try:
        tracker = Tracker(config)
        return tracker.runs_urls(local_ui=f"http://127.0.0.1:{port}")
    except BraidError:
        return {}


@app.command()
def serve(
    contract: Annotated[Path, typer.Argument(help="The data contract YAML whose model to serve.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5001,
    alias: Annotated[str, typer.Option(help="Registry alias to serve.")] = "champion",
    image_root: Annotated[
        Optional[Path],
        typer.Option(
            help="Directory path-based image cells are relative to (default: the contract's source.image_root)."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes, each with its own copy of the model.")] = 1,
    max_body_mb: Annotated[
        Optional[float], typer.Option(help="Largest request body in MB (default: BRAID_SERVE_MAX_BODY_MB, 16).")
    ] = None,
    allow_urls: Annotated[
        bool,
        typer.Option(
            "--allow-urls",
            help="Fetch image cells given as http(s) URLs (off: a client could make the server request any address).",
        ),
    ] = False,
    print_only: Annotated[bool, typer.Option("--print-only", help="Only print the command.")] = False,
) -> None:
    """Serve the contract's registered model over REST on 127.0.0.1: MLflow's scoring app behind Braid's
    guards (a body size limit), run by uvicorn.

    POST raw rows to /invocations as {"dataframe_split": {"columns": [...], "data": [[...]]}}; an image
    cell is a path under the image root or its bytes as a data URI (data:image/png;base64,...)."""

    def _do() -> None:
        _prepare_env()
        from components.data.contract import load_contract
        from components.pipeline.runs import registered_name, tracker_for

        _positive("max-body-mb", max_body_mb)
        loaded = load_contract(contract)
        layout = Layout.default()
        root = image_root or loaded.source.image_base
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": os.environ.get("MLFLOW_TRACKING_URI", layout.mlflow_uri),
            "BRAID_SERVE_MODEL_URI": f"models:/{registered_name(loaded)}@{alias}",
            **({"BRAID_IMAGE_ROOT": str(Path(root).resolve())} if root else {}),
            **({"BRAID_SERVE_MAX_BODY_MB": str(max_body_mb)} if max_body_mb is not None else {}),
            **({"BRAID_SERVE_ALLOW_URLS": "1"} if allow_urls else {}),
        }
        # `mlflow models serve` runs MLflow's app bare; the factory wraps the same app in Braid's guards.
        command = [
            *(sys.executable, "-m", "uvicorn", "--factory", "components.serving.pyfunc:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        ]
        shown = " ".join([f"BRAID_SERVE_MODEL_URI={env['BRAID_SERVE_MODEL_URI']}", *command])
        console.print(f"Serving: {shown}  → POST http://127.0.0.1:{port}/invocations", soft_wrap=True)
        if not print_only:
            # Checked here: a model missing from the registry would otherwise be a traceback from each worker.
            if tracker_for(layout).alias_version(registered_name(loaded), alias) is None:
                raise BraidError(
                    f"no model of contract '{loaded.name}' is registered as '{alias}' in {env['MLFLOW_TRACKING_URI']}; "
                    f"train one first (`braid run {contract}`) or pick another --alias"
                )
            subprocess.run(command, env=env, check=False)

    _guard(_do)


@app.command()
def deploy() -> None:
    """Register the deployments of prefect.yaml (training nightly, scoring on demand) with the Prefect
    server at PREFECT_API_URL. Start a server and a worker first (see README)."""

    def _do() -> None:
        _prepare_env()
        if not os.environ.get("PREFECT_API_URL"):
            raise BraidError(
                "PREFECT_API_URL is not set: start `prefect server start` and "
                "`export PREFECT_API_URL=http://127.0.0.1:4200/api` first"
            )
        prefect = shutil.which("prefect") or str(Path(sys.executable).with_name("prefect"))
        done = subprocess.run([prefect, "--no-prompt", "deploy", "--all"], cwd=PROJECT_ROOT, check=False)
        if done.returncode:
            raise BraidError(f"`prefect deploy --all` failed with exit code {done.returncode} (see above)")

    _guard(_do)


@stack_app.command("up")
def stack_up(
    postgres_port: Annotated[int, typer.Option(help="PostgreSQL's port on 127.0.0.1 (0: any free port).")] = 0,
    mlflow_port: Annotated[int, typer.Option(help="The MLflow server's port (0: any free port).")] = 5000,
    prefect_port: Annotated[int, typer.Option(help="The Prefect server's port (0: any free port).")] = 4200,
) -> None:
    """Start PostgreSQL, an MLflow and a Prefect server on it, and a worker on the braid-process pool."""

    def _do() -> None:
        from components.infra.stack import Ports, up

        home = Layout.default().home
        check_writable(home)
        with console.status(
            "Starting PostgreSQL, MLflow, Prefect and a worker (a first start migrates both databases: a minute or two)"
        ):
            stack, started = up(home, Ports(postgres_port, mlflow_port, prefect_port))
        _say(f"the stack is {'up' if started else 'already up'} under {stack.folder}")
        _print_stack(stack)

    _guard(_do)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the worker, both servers and PostgreSQL (their data stay for the next `up`)."""

    def _do() -> None:
        from components.infra.stack import down

        home = Layout.default().home
        stopped = down(home)
        if stopped is None:
            _say(f"the stack is not running under {home / 'stack'}: nothing to stop")
        elif stopped:
            _say(f"stopped {', '.join(stopped)}")
        else:
            _say("the stack's processes had already exited; its state file is cleared")

    _guard(_do)


@stack_app.command("status")
def stack_status() -> None:
    """Which of the stack's processes run; exit code 0 when all of them do, 1 otherwise."""

    def _do() -> bool:
        from components.infra.stack import read_state, status

        home = Layout.default().home
        stack = read_state(home)
        if stack is None:
            _say(f"the stack is not running under {home / 'stack'} (start it: braid stack up)")
            return False
        alive = status(stack)
        table = Table(title=f"Braid stack under {stack.folder}")
        for column in ("process", "pid", "state", "log"):
            table.add_column(column)
        for name, process in stack.processes.items():
            table.add_row(name, str(process.pid), "running" if alive[name] else "[red]stopped[/]", process.log)
        console.print(table)
        _print_stack(stack)
        return all(alive.values())

    if not _guard(_do):
        raise typer.Exit(1)


def _say(text: str) -> None:
    """One line as it is: no colouring of numbers and paths, no wrapping (a command stays copyable)."""
    console.print(text, highlight=False, soft_wrap=True)


def _print_stack(stack: Stack) -> None:
    _say(f"Prefect UI:  {stack.prefect_ui_url}   (API {stack.prefect_api_url})")
    _say(f"MLflow:      {stack.mlflow_uri}")
    _say(
        f"PostgreSQL:  127.0.0.1:{stack.ports.postgres}, databases mlflow and prefect "
        f"(user braid, password in {stack.folder / 'postgres.password'})"
    )
    _say(f"Worker:      pool braid-process, flows from {stack.project_dir}; logs in {stack.folder / 'logs'}")
    _say(f"export {stack.exports()}")


if __name__ == "__main__":
    app()
