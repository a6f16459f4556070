"""The pileup teacher's network: EdgeConv on flat graph batches, an event mean, a logit.

Inputs are those of :func:`fpgakd.learn.pileup.graph.graph_feed` (``GRAPH_INPUTS``): the
batch axis is particles, not events. Each EdgeConv block averages, over a particle's
existing neighbours j, an MLP of ``[h_i, h_j - h_i, deta, dphi, dR]`` (dphi wrapped into
[-pi, pi)), adds a linear shortcut of ``h_i`` and applies a ReLU (ParticleNet's block on a
fixed (eta, phi) graph). The event mean gives every particle its event's mean
representation (pileup density and activity). Nothing depends on the order of the
particles, so permuting an event's particles permutes the outputs.

This module imports TensorFlow (configured first, so oneDNN stays off): the pileup teacher
imports it inside its functions, so importing that stays light. :func:`pileup_layers`
returns the layer classes by the names Keras stores, as ``custom_objects``.
"""

from __future__ import annotations

import math
from typing import Any

from fpgakd.config import PileupTeacherConfig
from fpgakd.learn.pileup.graph import GRAPH_INPUTS
from fpgakd.learn.runtime import configure_tensorflow

configure_tensorflow()   # before TensorFlow's first import: oneDNN off, fixed threads

import tensorflow as tf  # noqa: E402

__all__ = ["pileup_layers", "build_pileup_teacher", "ParticleEdgeConv", "EventMean"]


class ParticleEdgeConv(tf.keras.layers.Layer):
    """Mean over existing neighbours of MLP([h_i, h_j - h_i, deta, dphi, dR]) + shortcut(h_i)."""

    def __init__(self, width: int, n_layers: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.width, self.n_layers = width, n_layers
        self.edge_mlp = [tf.keras.layers.Dense(width, activation="relu") for _ in range(n_layers)]
        self.shortcut = tf.keras.layers.Dense(width)

    def build(self, input_shape):
        n_features = int(input_shape[0][-1])
        # the first edge Dense reads [h_i, h_j - h_i, deta, dphi, dR]: built on that width so
        # its kernel (and a saved model's weights) stay those of the concatenated form
        self.edge_mlp[0].build((None, None, 2 * n_features + 3))
        super().build(input_shape)

    def call(self, inputs):  # noqa: D401 - Keras API
        h, coords, neighbours, valid = inputs
        c_j = tf.gather(coords, neighbours)
        deta = c_j[..., 0] - coords[:, None, 0]
        dphi = tf.math.floormod(c_j[..., 1] - coords[:, None, 1] + math.pi, 2.0 * math.pi) - math.pi
        geometry = tf.stack([deta, dphi, tf.sqrt(deta ** 2 + dphi ** 2)], axis=-1)
        e = self._first_edge_layer(h, neighbours, geometry)
        for dense in self.edge_mlp[1:]:
            e = dense(e)
        w = tf.expand_dims(valid, -1)
        agg = tf.reduce_sum(e * w, axis=1) / tf.maximum(tf.reduce_sum(w, axis=1), 1.0)
        return tf.nn.relu(self.shortcut(h) + agg)

    def _first_edge_layer(self, h, neighbours, geometry):
        """relu(W [h_i, h_j - h_i, geometry] + b), as (W_i - W_d) h_i + gather(W_d h)_j + W_g g + b.

        The split is linear algebra, the same up to float rounding: the per-particle products
        are taken once per particle instead of once per edge, and only (M, k, width) is gathered.
        """
        dense = self.edge_mlp[0]
        n = tf.shape(h)[-1]
        kernel = dense.kernel
        w_i, w_d, w_g = kernel[:n], kernel[n:2 * n], kernel[2 * n:]
        per_particle = tf.matmul(h, w_i - w_d) + dense.bias
        pre = (per_particle[:, None, :] + tf.gather(tf.matmul(h, w_d), neighbours)
               + tf.einsum("mkg,gw->mkw", geometry, w_g))
        return dense.activation(pre)

    def get_config(self) -> dict:
        return {**super().get_config(), "width": self.width, "n_layers": self.n_layers}


class EventMean(tf.keras.layers.Layer):
    """Each particle gets the mean of ``h`` over the particles of its event."""

    def call(self, inputs):  # noqa: D401 - Keras API
        h, event = inputs
        n_events = tf.reduce_max(event) + 1
        return tf.gather(tf.math.unsorted_segment_mean(h, event, n_events), event)


def pileup_layers() -> dict[str, type]:
    """The pileup teacher's custom Keras layers by class name.

    >>> sorted(pileup_layers())
    ['EventMean', 'ParticleEdgeConv']
    """
    return {cls.__name__: cls for cls in (ParticleEdgeConv, EventMean)}


def build_pileup_teacher(cfg: PileupTeacherConfig, n_features: int) -> Any:
    """The (untrained) teacher: graph inputs in, one logit per particle out (M, 1).

    >>> build_pileup_teacher(PileupTeacherConfig(), 16).output_shape      # doctest: +SKIP
    (None, 1)
    """
    layers = pileup_layers()
    k = cfg.edge_k
    shapes = {"features": ((n_features,), "float32"), "coords": ((2,), "float32"),
              "neighbours": ((k,), "int32"), "valid": ((k,), "float32"), "event": ((), "int32")}
    inputs = {name: tf.keras.Input(shape=shapes[name][0], dtype=shapes[name][1], name=name)
              for name in GRAPH_INPUTS}
    h = inputs["features"]
    for b in range(cfg.edge_blocks):
        h = layers["ParticleEdgeConv"](cfg.width, cfg.edge_layers, name=f"edgeconv{b + 1}")(
            [h, inputs["coords"], inputs["neighbours"], inputs["valid"]])
    if cfg.event_context:
        h = tf.keras.layers.Concatenate(name="with_event")(
            [h, layers["EventMean"](name="event_mean")([h, inputs["event"]])])
    h = tf.keras.layers.Dense(cfg.width, activation="relu", name="head")(h)
    logit = tf.keras.layers.Dense(1, name="logit")(h)
    return tf.keras.Model([inputs[name] for name in GRAPH_INPUTS], logit, name="pileup_teacher")
