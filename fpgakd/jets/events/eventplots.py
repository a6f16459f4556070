"""A picture of an event file: what pileup adds and what separates it from the hard scatter.

Four panels: pileup interactions per event (against the Poisson(mu) expectation), the
particles' pT, their |dz| (charged: the hard scatter's tracks point to the primary vertex,
pileup's spread over the vertex distribution) and their eta, each split by truth flag.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fpgakd.errors import DataError
from fpgakd.figures import pyplot, save_figure, step_histograms
from fpgakd.jets.events.eventfile import TRUTH_FIELD, EventSet

__all__ = ["plot_event_overview"]

_BINS = 60
#: ranges that suit mu ~ 50-200 at 14 TeV
_LOG_PT_RANGE = (-0.5, 2.5)     # log10(pT / GeV)
_LOG_DZ_RANGE = (-4.0, 1.5)     # log10(|dz| / cm)


def plot_event_overview(events: EventSet, path: str | os.PathLike) -> Path:
    """Plot the four panels of the module docstring for ``events``; PNG, written atomically.

    >>> plot_event_overview(load_events("events.h5"), "events_overview.png")   # doctest: +SKIP
    PosixPath('events_overview.png')
    """
    if not events.has_truth:
        raise DataError(f"{events.source}: particles/{TRUTH_FIELD}: no truth flags to split by")
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    _pileup_counts_panel(axes[0, 0], events)
    p = events.particles
    flags = p[TRUTH_FIELD]
    charged = p["charge"] != 0
    with np.errstate(divide="ignore"):
        panels = ((axes[0, 1], np.log10(p["pt"]), np.ones_like(flags), "log10(pT / GeV)", _LOG_PT_RANGE),
                  (axes[1, 0], np.log10(np.abs(p["dz"])), charged, "log10(|dz| / cm), charged",
                   _LOG_DZ_RANGE),
                  (axes[1, 1], p["eta"], np.ones_like(flags), "eta", None))
    for ax, values, selected, label, value_range in panels:
        samples = {name: values[selected & mask] for name, mask in (("hard scatter", ~flags), ("pileup", flags))}
        step_histograms(ax, samples, bins=_BINS, value_range=value_range, xlabel=label,
                        ylabel="fraction of particles per unit")
    fig.suptitle(f"{Path(events.source).name or 'events'}: {events.n_events} events, "
                 f"{events.n_particles / max(events.n_events, 1):.0f} particles per event")
    return save_figure(fig, path)


def _pileup_counts_panel(ax: object, events: EventSet) -> None:
    from scipy.stats import poisson

    counts = events.events["n_pileup"]
    edges = np.arange(counts.min(), counts.max() + 2) - 0.5
    ax.hist(counts, bins=edges, density=True, histtype="stepfilled", alpha=0.5, label="generated")
    mu = events.options.get("mu")
    if mu is not None:
        k = np.arange(counts.min(), counts.max() + 1)
        ax.plot(k, poisson.pmf(k, float(mu)), "k.", label=f"Poisson(mu = {float(mu):g})")
    ax.set_xlabel("pileup interactions per event")
    ax.set_ylabel("fraction of events")
    ax.legend(fontsize=8)
