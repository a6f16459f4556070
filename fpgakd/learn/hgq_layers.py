"""Passive Keras layers fpgakd adds to HGQ 0.2 for its Deep Sets students: a ``Cropping1D``,
which cuts the flat input into the particles and the high-level features (hls4ml 1.3 has no
slicing layer but converts a ``Cropping1D``), and the pooling over all particles.

A passive layer (HGQ's ``PLayerBase``) moves values without arithmetic; HGQ asks it only for
the bit widths of what it outputs, so that the next layer's EBOPs see them: a crop passes on
the widths of the rows it keeps, a pooling over every particle the widest of each channel.
HGQ's own pooling layers take that maximum with a max-pool whose gradient has no
deterministic XLA kernel, and fpgakd trains with TensorFlow's op determinism on
(:mod:`fpgakd.learn.runtime`): these take it with a reduction. HGQ's proxy conversion turns
each into the Keras layer of the same name without the leading ``P``.

This module imports TensorFlow and HGQ: import it only where HGQ is known to be installed
(:func:`fpgakd.learn.hgq_students.import_hgq` says which extra to install otherwise). Like
:mod:`fpgakd.learn.teacher_layers` it sets TensorFlow up first: whatever imports TensorFlow
first in a process fixes oneDNN for the rest of it (a doctest collection imports this module).
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from fpgakd.learn.runtime import configure_tensorflow

configure_tensorflow()   # before TensorFlow's first import: oneDNN off, fixed threads

import tensorflow as tf  # noqa: E402

with contextlib.redirect_stdout(io.StringIO()):   # HGQ prints while it registers plugins
    from HGQ.layers.passive_layers import PLayerBase  # noqa: E402

__all__ = ["PCropping1D", "PMaxPooling1D", "PAveragePooling1D"]


@tf.keras.utils.register_keras_serializable(package="fpgakd")
class PCropping1D(tf.keras.layers.Cropping1D, PLayerBase):
    """``Cropping1D`` for HGQ models: its output widths are the kept rows of its input's."""

    def _kept(self, bw: Any) -> Any:
        left, right = (int(c) for c in self.cropping)
        return bw[:, left:bw.shape[1] - right]

    @property
    def act_bw(self) -> Any:
        return self._kept(self.input_bw)

    @property
    def act_bw_exact(self) -> Any:
        return self._kept(self.input_bw_exact)


class _OverAllParticles:
    """Bit widths of a pooling over the whole particle axis: the widest in each channel."""

    @property
    def act_bw(self) -> Any:
        return tf.reduce_max(self.input_bw, axis=1, keepdims=True)

    @property
    def act_bw_exact(self) -> Any:
        return self.input_bw_exact.max(axis=1, keepdims=True)


@tf.keras.utils.register_keras_serializable(package="fpgakd")
class PMaxPooling1D(_OverAllParticles, tf.keras.layers.MaxPooling1D, PLayerBase):
    """The maximum over all particles (``pool_size`` = their number)."""


@tf.keras.utils.register_keras_serializable(package="fpgakd")
class PAveragePooling1D(_OverAllParticles, tf.keras.layers.AveragePooling1D, PLayerBase):
    """The mean over all particles (``pool_size`` = their number)."""
