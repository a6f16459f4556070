"""The generated jets are the same bits on every machine: their content hashes are in
``tests/data/golden_hashes.json``, and a machine that computes other bits fails here with
the array named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fpgakd.jets.loading import DEFAULT_JETS_PER_CLASS, DEFAULT_SEED, load_jets
from fpgakd.jets.jetfile import array_hashes

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_hashes.json").read_text())


def _differences(got: dict[str, str], want: dict[str, str]) -> list[str]:
    return [f"array '{name}': got {got.get(name)}, expected {digest}"
            for name, digest in want.items() if got.get(name) != digest]


@pytest.mark.slow
def test_a_small_generated_file_has_the_golden_hashes(tmp_path):
    from fpgakd.jets.generate import generate_jets
    from fpgakd.jets.options import GenerationOptions

    small = GOLDEN["small"]
    out = tmp_path / "small.h5"
    generate_jets(out, GenerationOptions(**small["options"]), progress=False)
    assert not _differences(array_hashes(load_jets(out)), small["hashes"]), \
        "\n".join(_differences(array_hashes(load_jets(out)), small["hashes"]))


@pytest.mark.slow
def test_the_cached_default_dataset_has_the_golden_hashes():
    from fpgakd.cache import cache_dir
    from fpgakd.jets.loading import default_jets_path

    default = GOLDEN["default"]
    assert default["options"] == {"jets_per_class": DEFAULT_JETS_PER_CLASS, "seed": DEFAULT_SEED}
    if not any(cache_dir().glob("default_jets_*.h5")):
        pytest.skip("the default dataset is not cached here (fpgakd distill generates it)")
    dataset = load_jets(default_jets_path(progress=False))
    bad = _differences(array_hashes(dataset), default["hashes"])
    assert not bad, "\n".join(bad)
    # the shipped default teacher is keyed by it
    assert dataset.fingerprint() == default["fingerprint"]


def test_the_hash_names_an_array_that_differs_by_one_bit():
    import numpy as np
    from fpgakd.jets.dataset import JetDataset

    hlf = np.ones((3, 16), np.float32)
    before = array_hashes(JetDataset(hlf=hlf, labels=np.arange(3)))
    hlf.view(np.uint32)[1, 7] ^= 1
    after = array_hashes(JetDataset(hlf=hlf, labels=np.arange(3)))
    assert _differences(after, before) == [f"array 'hlf': got {after['hlf']}, expected {before['hlf']}"]
