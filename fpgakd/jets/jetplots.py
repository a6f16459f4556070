"""Plots of a jet sample: per-class distributions of the substructure features.

The quickest check that a generated (or downloaded) sample has the physics it should:
W, Z and top peaks in the groomed mass, more particles in gluon than quark jets, lower
D2 for two-prong jets.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fpgakd.jets.dataset import JetDataset
from fpgakd.errors import ConfigError, DataError
from fpgakd.figures import pyplot, save_figure, step_histograms

__all__ = ["SUMMARY_FEATURES", "plot_feature_distributions"]

#: Features shown by default, with axis titles and ranges that suit ~1 TeV jets.
SUMMARY_FEATURES: dict[str, tuple[str, tuple[float, float]]] = {
    "j_mass_mmdt": ("groomed mass [GeV]", (0.0, 250.0)),
    "j_multiplicity": ("constituents", (0.0, 200.0)),
    "j_d2_b1_mmdt": ("D2 (beta=1)", (0.0, 5.0)),
    "j_c2_b1_mmdt": ("C2 (beta=1)", (0.0, 0.4)),
}

_BINS = 50


def plot_feature_distributions(dataset: JetDataset, path: str | os.PathLike,
                               features: Sequence[str] = tuple(SUMMARY_FEATURES)) -> Path:
    """Histogram each feature per class (normalised), one panel per feature; PNG, atomic.

    >>> plot_feature_distributions(load_jets("jets.h5"), "jets_summary.png")   # doctest: +SKIP
    PosixPath('jets_summary.png')
    """
    plt = pyplot()
    if dataset.hlf is None:
        raise DataError(f"{dataset.source}: no high-level features to plot")
    unknown = [f for f in features if f not in dataset.hlf_names]
    if unknown:
        raise ConfigError(f"features: {unknown} not in {dataset.source}; "
                          f"available: {', '.join(dataset.hlf_names)}")
    if not features:
        raise ConfigError("features: nothing to plot")
    ncols = min(2, len(features))
    nrows = math.ceil(len(features) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.5 * ncols, 4 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, features):
        values = dataset.hlf[:, dataset.hlf_names.index(name)]
        title, value_range = SUMMARY_FEATURES.get(name, (name, None))
        if value_range is None:
            value_range = tuple(np.percentile(values, [0.5, 99.5]))
        samples = {class_name: values[dataset.labels == label]
                   for label, class_name in enumerate(dataset.class_names)}
        step_histograms(ax, samples, bins=_BINS, value_range=value_range, xlabel=title,
                        ylabel="fraction of jets per unit")
    for ax in list(axes.flat)[len(features):]:
        ax.set_visible(False)
    fig.suptitle(Path(dataset.source).name)
    return save_figure(fig, path)
