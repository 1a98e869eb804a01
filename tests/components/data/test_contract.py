"""Contracts: YAML load errors name file, line and key; `infer_contract` drafts a loadable contract."""

from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from components.data.contract import Target, load_contract, parse_labels
from components.data.infer import infer_contract, write_inferred_contract
from components.errors import ContractError

REPO = Path(__file__).resolve().parents[3]

GOOD = """\
name: tiny
source:
  path: data.csv
id_column: id
features:
  - name: age
    modality: numerical
  - name: note
    modality: text
targets:
  - name: label
    task: classification
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_contract_loads_with_absolute_paths(tmp_path):
    contract = load_contract(write(tmp_path, GOOD))
    assert contract.source.path == (tmp_path / "data.csv").resolve()
    assert contract.columns == ["id", "age", "note", "label"]
    assert contract.allow_extra_columns is True
    assert contract.source.image_base == tmp_path.resolve()


def test_unknown_modality_names_file_line_and_key(tmp_path):
    path = write(tmp_path, GOOD.replace("modality: text", "modality: vidoe"))
    with pytest.raises(ContractError) as err:
        load_contract(path)
    message = str(err.value)
    assert f"{path} line 9, features[1].modality: 'vidoe' is not one of image, text" in message


def test_unknown_key_names_its_line_and_the_allowed_keys(tmp_path):
    path = write(tmp_path, GOOD.replace("    modality: numerical\n", "    modality: numerical\n    colour: red\n"))
    with pytest.raises(
        ContractError, match=r"line 8, features\[0\]\.colour: unknown key 'colour' \(allowed: name, modality"
    ):
        load_contract(path)


def test_drift_section_names_an_unknown_threshold_with_its_line_and_the_valid_ones(tmp_path):
    contract = load_contract(write(tmp_path, GOOD + "drift:\n  on_drift: stop\n  thresholds:\n    psi: 0.3\n"))
    assert contract.drift.on_drift == "stop" and contract.drift.thresholds == {"psi": 0.3}
    assert load_contract(write(tmp_path, GOOD, "d.yaml")).drift.on_drift == "warn"
    path = write(tmp_path, GOOD + "drift:\n  thresholds:\n    pis: 0.3\n", "bad.yaml")
    with pytest.raises(
        ContractError, match=r"line 15, drift.thresholds.pis: unknown drift threshold 'pis'; use one of \[.*'psi'"
    ):
        load_contract(path)


def test_unknown_task_is_rejected(tmp_path):
    path = write(tmp_path, GOOD.replace("task: classification", "task: ranking"))
    with pytest.raises(ContractError, match=r"line 12, targets\[0\]\.task: 'ranking' is not one of"):
        load_contract(path)


def test_malformed_yaml_gives_the_line(tmp_path):
    path = write(tmp_path, GOOD + "split: {train: 0.7\n")
    with pytest.raises(ContractError, match=r"c\.yaml line 14: not valid YAML"):
        load_contract(path)


def test_split_fractions_must_sum_to_one(tmp_path):
    path = write(tmp_path, GOOD + "split: {train: 0.5, val: 0.1, test: 0.1}\n")
    with pytest.raises(ContractError, match=r"line 13, split: train \+ val \+ test must sum to 1, got 0.7"):
        load_contract(path)


def test_split_stratify_is_a_boolean_on_by_default(tmp_path):
    assert load_contract(write(tmp_path, GOOD)).split.stratify is True
    assert load_contract(write(tmp_path, GOOD + "split: {stratify: false}\n")).split.stratify is False
    with pytest.raises(ContractError, match=r"line 13, split.stratify: Input should be a valid boolean"):
        load_contract(write(tmp_path, GOOD + "split: {stratify: sometimes}\n"))


def test_duplicate_column_name_points_at_the_second_use(tmp_path):
    path = write(tmp_path, GOOD.replace("name: note", "name: age"))
    with pytest.raises(ContractError, match=r"line 8, features\[1\]\.name: column 'age' is named twice"):
        load_contract(path)


def test_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(tmp_path):
    path = write(tmp_path, GOOD.replace("id_column: id\n", "id_column: id\nid_column: age\n"))
    with pytest.raises(ContractError, match=r"line 5, id_column: key given twice"):
        load_contract(path)


def test_missing_required_key_and_every_error_reported(tmp_path):
    path = write(tmp_path, GOOD.replace("id_column: id\n", "").replace("task: classification", "task: x"))
    with pytest.raises(ContractError) as err:
        load_contract(path)
    assert "id_column: required key is missing" in str(err.value)
    assert "targets[0].task: 'x' is not one of" in str(err.value)


def test_list_format_only_for_multilabel(tmp_path):
    path = write(tmp_path, GOOD.replace("task: classification", "task: classification\n    list_format: json"))
    with pytest.raises(ContractError, match=r"targets\[0\]: 'list_format' only applies to task 'multilabel'"):
        load_contract(path)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ContractError, match="contract file not found"):
        load_contract(tmp_path / "nope.yaml")
    with pytest.raises(ContractError, match="a contract is a YAML mapping"):
        load_contract(write(tmp_path, "- just\n- a list\n"))


@pytest.mark.parametrize("name", ["movies", "posters"])
def test_repository_contracts_load(name):
    contract = load_contract(REPO / "data_contracts" / f"{name}.yaml")
    assert contract.name == name
    assert contract.source.path.name.endswith(".csv")
    assert {t.task for t in contract.targets} >= {"multilabel", "regression"}


def test_parse_labels_reads_each_cell_format():
    literal = Target(name="g", task="multilabel", list_format="python_literal", list_key="name")
    assert parse_labels("[{'id': 16, 'name': 'Animation'}, {'id': 35, 'name': 'Comedy'}]", literal) == [
        "Animation",
        "Comedy",
    ]
    assert parse_labels("[]", literal) == []
    assert parse_labels(None, literal) is None
    piped = Target(name="g", task="multilabel", separator="|")
    assert parse_labels("Drama| Comedy", piped) == ["Drama", "Comedy"]
    as_json = Target(name="g", task="multilabel", list_format="json")
    assert parse_labels('["a", "b"]', as_json) == ["a", "b"]
    with pytest.raises((ValueError, SyntaxError)):
        parse_labels("[{'id': 1", literal)


def mixed_table(tmp_path: Path) -> Path:
    images = tmp_path / "imgs"
    images.mkdir()
    rows = []
    for i in range(24):
        Image.new("RGB", (8, 8), (i * 10, 0, 0)).save(images / f"p{i}.png")
        rows.append(
            {
                "movie_id": 1000 + i,
                "poster": f"imgs/p{i}.png",
                "overview": f"A long story number {i} about a hero who travels far away from home",
                "color": ["red", "blue", "green"][i % 3],
                "released": f"2001-02-{(i % 28) + 1:02d}",
                "budget": 1.5 * i,
                "genres": ["Drama|Comedy", "Drama", "Action|Drama"][i % 3],
                "score": 5.0 + i / 10,
                "rating": ["R", "PG"][i % 2],
            }
        )
    path = tmp_path / "films.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_infer_guesses_modalities_and_tasks_and_loads(tmp_path):
    data = mixed_table(tmp_path)
    out = write_inferred_contract(data, tmp_path / "contracts" / "films.yaml", targets=["genres", "score", "rating"])
    text = out.read_text()
    assert "# Data contract drafted" in text  # comments for the user to edit
    contract = load_contract(out)
    assert contract.id_column == "movie_id"
    assert contract.source.path == data.resolve()
    modalities = {f.name: f.modality for f in contract.features}
    assert modalities == {
        "poster": "image",
        "overview": "text",
        "color": "categorical",
        "released": "datetime",
        "budget": "numerical",
    }
    tasks = {t.name: (t.task, t.separator) for t in contract.targets}
    assert tasks == {"genres": ("multilabel", "|"), "score": ("regression", None), "rating": ("classification", None)}


def test_infer_reads_python_literal_lists_and_refuses_to_overwrite(tmp_path):
    data = tmp_path / "m.csv"
    pd.DataFrame(
        {
            "id": range(10),
            "genres": ["[{'id': 1, 'name': 'Drama'}]", "[{'id': 2, 'name': 'Comedy'}, {'id': 1, 'name': 'Drama'}]"] * 5,
            "x": range(10),
        }
    ).to_csv(data, index=False)
    text = infer_contract(data, targets=["genres"], contract_dir=tmp_path)
    assert 'list_format: "python_literal"' in text and 'list_key: "name"' in text
    out = write_inferred_contract(data, tmp_path / "m.yaml", targets=["genres"])
    assert load_contract(out).targets[0].list_key == "name"
    with pytest.raises(ContractError, match="already exists"):
        write_inferred_contract(data, out, targets=["genres"])


def test_training_names_the_devices_and_precision_and_refuses_mirrored_with_workers(tmp_path):
    training = load_contract(write(tmp_path, GOOD)).training
    assert (training.distribution, training.mixed_precision) == ("none", "none")
    asked = load_contract(write(tmp_path, GOOD + "training:\n  distribution: mirrored\n  mixed_precision: bfloat16\n"))
    assert (asked.training.distribution, asked.training.mixed_precision) == ("mirrored", "bfloat16")
    with pytest.raises(ContractError, match=r"line 15, training.mixed_precision: 'int8' is not one of none, float16"):
        load_contract(write(tmp_path, GOOD + "training:\n  distribution: auto\n  mixed_precision: int8\n"))
    with pytest.raises(ContractError, match=r"line 14, training.distribution: 'mirrored' trains each trial on every"):
        load_contract(write(tmp_path, GOOD + "training:\n  distribution: mirrored\n  workers: 2\n"))
