"""A portfolio of first trials: configurations chosen on the benchmark suite, not hand-picked for one set.

A search's first trials are its most important ones: with `max_trials=2` they are the search. The
defaults of the blocks were tuned on two sets (movies, posters) and lost to logistic regression on
small images (a 16-filter CNN with global average pooling, and a second trial that only changed the
learning rate). So the first trials come from a *portfolio*: a short, ordered list of configurations
picked greedily from a pool of candidates so that the best of them is as close as possible to the
best candidate on every set of the suite (mean normalised regret; Auto-sklearn 2.0, Feurer et al.,
JMLR 2022; TabRepo, Salinas & Erickson, 2023). `benchmarks/portfolio.py` measures every candidate on
every set and makes the choice, with a leave-one-set-out check; `PORTFOLIOS` below holds its result.

Which portfolio a search gets depends on simple facts about its data (`DataFacts`): the modalities
present and the image size. Image-only, text-only and table-only data have one; where none is listed
(several modalities) the search starts from the blocks' defaults, as before: those were measured on
movies and posters and the suite has not yet shown a better start for them.

A candidate names hyperparameters by the modality of the block that owns them and the name inside
the block, `"image:block_type"`, so one candidate fits any graph: the AutoModel's default graph,
the task APIs' and the pipeline's contract graphs (`resolve`). Names without a modality
(`"learning_rate"`) are global. Portfolio trials run after any `warm_start` configurations and count
toward `max_trials`.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras_tuner as kt

from components.automl.blocks.general import Block
from components.automl.nodes import ImageInput, Input, InputNode, StructuredDataInput, TextInput
from components.automl.tuners.warm import valid_value
from components.errors import InputError

MODALITY_OF = {ImageInput: "image", TextInput: "text", StructuredDataInput: "structured"}

# A small-image CNN that keeps where things are: batch norm, flatten, a gentler learning rate.
_CNN = {
    "image:encoder": "scratch",
    "image:block_type": "vanilla",
    "image:augment": False,
    "image:vanilla/kernel_size": 3,
    "image:vanilla/num_blocks": 2,
    "image:vanilla/num_layers": 1,
    "image:vanilla/filters": 32,
    "image:vanilla/dropout": 0.25,
    "image:vanilla/use_batchnorm": True,
    "image:reduction": "flatten",
    "learning_rate": 3e-3,
}
_RESNET = {
    "image:encoder": "scratch",
    "image:block_type": "resnet",
    "image:augment": False,
    "image:resnet/version": "v2",
    "image:resnet/num_stages": 2,
    "learning_rate": 3e-3,
}
# Small shifts and zooms, never flips (digits and text read one way round).
_SHIFTS = {
    "image:augment": True,
    "image:augmentation/horizontal_flip": False,
    "image:augmentation/translation_factor": 0.1,
    "image:augmentation/rotation_factor": 0.0,
    "image:augmentation/zoom_factor": 0.1,
    "image:augmentation/contrast_factor": 0.0,
}

_NGRAM = {
    "text:encoder": "scratch",
    "text:block_type": "ngram",
    "text:max_tokens": 20000,
    "text:embedding_dim": 64,
    "text:dropout": 0.0,
    "learning_rate": 3e-3,
}

# The pool: every configuration the portfolio may choose from (benchmarks/portfolio.py measures them).
CANDIDATES: dict[str, dict] = {
    "cnn_flat_bn": _CNN,
    "cnn_flat": {**_CNN, "image:vanilla/use_batchnorm": False},
    "cnn_flat_bn_deep": {**_CNN, "image:vanilla/num_layers": 2},
    "cnn_flat_bn_augment": {**_CNN, **_SHIFTS},
    "cnn_k5_flat_bn": {**_CNN, "image:vanilla/kernel_size": 5},
    "cnn_k5_flat_bn_deep": {**_CNN, "image:vanilla/kernel_size": 5, "image:vanilla/num_layers": 2},
    # The blocks' defaults before the portfolio (16 filters, no batch norm, global average pooling).
    "cnn_gap": {
        **_CNN,
        "image:vanilla/filters": 16,
        "image:vanilla/dropout": 0.0,
        "image:vanilla/use_batchnorm": False,
        "image:reduction": "global_avg",
        "learning_rate": 1e-2,
    },
    "resnet_gap": {**_RESNET, "image:reduction": "global_avg"},
    "resnet_flat": {**_RESNET, "image:reduction": "flatten"},
    "resnet3_flat": {**_RESNET, "image:resnet/num_stages": 3, "image:reduction": "flatten"},
    # The ResNets with shifts and zooms while training, which slow fitting: with them, a higher peak rate.
    "resnet3_flat_augment": {**_RESNET, "image:resnet/num_stages": 3, "image:reduction": "flatten", **_SHIFTS},
    "resnet_flat_augment_lr1e2": {**_RESNET, "image:reduction": "flatten", **_SHIFTS, "learning_rate": 1e-2},
    "resnet3_flat_augment_lr1e2": {
        **_RESNET,
        "image:resnet/num_stages": 3,
        "image:reduction": "flatten",
        **_SHIFTS,
        "learning_rate": 1e-2,
    },
    # Frozen EfficientNet-Lite0 features (needs the pretrained extra; skipped where the graph lacks them).
    "pretrained": {"image:encoder": "pretrained", "learning_rate": 3e-3},
    # Text: TF-IDF n-grams under a linear projection (logistic regression's model), the sequence
    # encoders, and frozen MiniLM sentence embeddings (needs the pretrained extra).
    "text_ngram": {**_NGRAM},
    "text_ngram_lr1e2": {**_NGRAM, "learning_rate": 1e-2},
    "text_ngram_dropout": {**_NGRAM, "text:dropout": 0.25},
    "text_vanilla": {"text:encoder": "scratch", "text:block_type": "vanilla", "learning_rate": 3e-3},
    "text_transformer": {"text:encoder": "scratch", "text:block_type": "transformer", "learning_rate": 1e-3},
    "text_pretrained": {"text:encoder": "pretrained", "learning_rate": 3e-3},
    # Tables: numbers over piecewise-linear bins (the block's default) or standardised alone.
    "table_piecewise": {"structured:encoder/numeric_encoding": "piecewise"},
    "table_standard": {"structured:encoder/numeric_encoding": "standard"},
    # The search's first trial on text before the portfolio.
    "text_pretrained_lr1e2": {"text:encoder": "pretrained", "learning_rate": 1e-2},
}

# The largest side of the images the suite's small-image sets hold (digits 8, mnist 28, digits32 32).
SMALL_IMAGE_SIDE = 32
# Chosen by `python -m benchmarks.portfolio` (benchmarks/README.md, "Portfolio"); keys are `DataFacts.key`.
PORTFOLIOS: dict[str, tuple[str, ...]] = {
    # Images of at most `SMALL_IMAGE_SIDE` pixels a side: resnet3_flat_augment and cnn_k5_flat_bn by greedy
    # choice on digits, digits32 and mnist; frozen features second by rule (benchmarks/portfolio.py).
    "image:small": ("resnet3_flat_augment", "pretrained", "cnn_k5_flat_bn"),
    # Larger photos keep the choice made before the augmenting candidates: the only photo set, posters'
    # images alone, learns nothing from any candidate, and shifts and zooms were the worst there (content
    # rating 0.262 against 0.345 for resnet_flat, seed 0), so the small images' choice does not carry over.
    "image": ("resnet_flat", "pretrained", "resnet3_flat"),
    # By greedy choice on rotten_tomatoes and the text of movies, posters and the demo: MiniLM features
    # win the three short-text sets, the transformer the snippets; without the pretrained extra the
    # scratch encoders run first.
    "text": ("text_pretrained_lr1e2", "text_transformer", "text_vanilla"),
    # Tables alone: the numbers over bins first (the block's default, what one trial runs), then standardised
    # alone, which the bins lost to on breast_cancer (364 training rows): benchmarks/README.md, "table-only data".
    "structured": ("table_piecewise", "table_standard"),
}


@dataclass(frozen=True)
class DataFacts:
    """What the portfolio is conditioned on.

    Args:
        modalities: the modalities of the raw inputs ("image", "text", "structured", ...), sorted.
        image_side: the smaller side of the (first) image input, when there is one.
        rows: training rows.
    """

    modalities: tuple[str, ...]
    image_side: int | None = None
    rows: int = 0

    @property
    def kind(self) -> str:
        """The modalities joined by "+" ("image", "image+text", ...)."""
        return "+".join(self.modalities)

    @property
    def key(self) -> str:
        """The portfolio key: `kind`, with ":small" for images alone of at most `SMALL_IMAGE_SIDE` pixels a side."""
        small = self.kind == "image" and self.image_side is not None and self.image_side <= SMALL_IMAGE_SIDE
        return f"{self.kind}:small" if small else self.kind


def data_facts(inputs: list[InputNode], rows: int) -> DataFacts:
    """The facts of fitted input nodes. Frozen embeddings of another input (`<input>__<encoder>`, as the
    AutoModel's default graph and the pipeline name them) are that input's, not a modality of their own."""
    names = {node.name for node in inputs}
    raw = [
        node
        for node in inputs
        if not (type(node) is Input and "__" in (node.name or "") and node.name.partition("__")[0] in names)
    ]
    modalities = sorted({MODALITY_OF.get(type(node), "vector") for node in raw})
    images = [node for node in inputs if isinstance(node, ImageInput) and node.shape]
    side = min(images[0].shape[:2]) if images else None
    return DataFacts(tuple(modalities), side, rows)


def choose(facts: DataFacts, portfolio: list | tuple | None = None) -> list[dict]:
    """The candidates the first trials run, in order.

    Args:
        facts: the data's facts.
        portfolio: None for the suite's choice for these facts; otherwise candidate names from
            `CANDIDATES` or candidate dicts (`{"image:block_type": "resnet", ...}`), `[]` for none.
    """
    if portfolio is None:
        portfolio = PORTFOLIOS.get(facts.key, ())
    if isinstance(portfolio, (str, dict)) or not isinstance(portfolio, (list, tuple)):
        raise InputError(
            f"portfolio={portfolio!r}; give a list of names from {sorted(CANDIDATES)} or of dicts, "
            "[] for none, or None for the default."
        )
    chosen = []
    for item in portfolio:
        if isinstance(item, str):
            if item not in CANDIDATES:
                raise InputError(f"portfolio: unknown candidate {item!r}; use one of {sorted(CANDIDATES)}.")
            item = CANDIDATES[item]
        if not isinstance(item, dict):
            raise InputError(f"portfolio: each item is a candidate name or a dict; got {type(item).__name__}.")
        chosen.append(dict(item))
    return chosen


def resolve(candidate: dict, blocks: list[Block], build) -> tuple[dict, kt.HyperParameters] | None:
    """One candidate → hyperparameter values of this graph, and the space they activate.

    `build(hp)` builds the model with `hp`; a candidate's choices can bring new hyperparameters into
    being (a ResNet's, the augmentation's), so the graph is built until no new name resolves. A
    candidate that sets a choice the graph does not offer (`"pretrained"` without the frozen
    encoder, a fixed hyperparameter) does not fit this graph: None.
    """
    owners = {block.name: _modalities(block) for block in blocks}
    hp = kt.HyperParameters()
    for _ in range(4):  # each pass may activate the hyperparameters of a new choice
        build(hp)
        changed = False
        for hyperparameter in hp.space:
            key = _key(hyperparameter.name, owners)
            if key not in candidate or hp.values.get(hyperparameter.name) == candidate[key]:
                continue
            value = valid_value(hyperparameter, candidate[key])
            if value is None:
                return None
            hp.values[hyperparameter.name] = value
            changed = True
        if not changed:
            break
    resolved = {_key(h.name, owners) for h in hp.space}
    for key, value in candidate.items():
        if key.endswith(":encoder") and value == "pretrained" and key not in resolved:
            return None  # no frozen encoder of that modality in this graph
    return dict(hp.values), hp


def _modalities(block: Block) -> set[str]:
    """The modalities of the raw inputs upstream of `block`."""
    found, stack = set(), list(block.inputs)
    while stack:
        node = stack.pop()
        if isinstance(node, InputNode):
            modality = MODALITY_OF.get(type(node))
            if modality:
                found.add(modality)
        elif node.block is not None:
            stack.extend(node.block.inputs)
    return found


def _key(name: str, owners: dict[str, set[str]]) -> str:
    """`image_block_1/vanilla/filters` → `image:vanilla/filters` when the block sees one modality."""
    block, _, inner = name.partition("/")
    modalities = owners.get(block)
    if not inner or not modalities or len(modalities) != 1:
        return name
    return f"{next(iter(modalities))}:{inner}"
