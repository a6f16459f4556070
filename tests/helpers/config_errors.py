"""Bad model YAML for the config tests: the one-line error a user gets for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fpgakd.config import load_model_config, repo_dir
from fpgakd.errors import ConfigError


def one_line_config_error(path: Path, text: str) -> str:
    """Write ``text`` to ``path``, load it as a model config: the error, one line naming the file."""
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_model_config(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    return message


def changed_model_config_error(path: Path, model: str, change: dict) -> str:
    """``models/<model>.yaml`` with the keys of ``change`` replaced (a dict value updates that
    section), written to ``path`` and loaded: the one-line error naming the file."""
    import yaml

    data = yaml.safe_load((repo_dir() / "models" / f"{model}.yaml").read_text())
    for key, value in change.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    return one_line_config_error(path, yaml.safe_dump(data))
