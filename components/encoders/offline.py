"""Keep every encoder load on local files: the hubs' libraries are told they are offline."""

from __future__ import annotations

import os

# Hugging Face libraries (huggingface_hub, transformers, datasets) honour these; keras-hub goes through
# huggingface_hub for `hf://` handles and through kagglehub for `kaggle://` ones. Braid only ever passes
# keras-hub a local directory from an installed wheel, so no handle can reach a hub; the variables are a
# second lock for any library that would try anyway.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}


def force_offline() -> None:
    """Set the hubs' offline switches in this process before any keras-hub or Hugging Face import.

    Values already set to something else are overwritten: Braid never downloads weights at run time.
    """
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
