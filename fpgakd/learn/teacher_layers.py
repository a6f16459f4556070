"""Keras layers of the built-in teachers, all permutation equivariant over particles.

Every layer takes the particle features ``h`` (B, P, F) and the ``mask`` (B, P) (1 for a
real particle), never lets a padded particle influence a real one, and (except the
pooling) returns zeros for padded particles. Some also take the raw kinematics ``kin``
(B, P, 3) = (deta, dphi, pt) of :mod:`fpgakd.learn.pairs`.

This module imports TensorFlow (configured first, so oneDNN stays off): the modules that
build or load teachers import it inside their functions, so importing them stays light.
:func:`teacher_layers` returns the classes by the name Keras stores in a saved model, so
loading a teacher file needs exactly this dict as ``custom_objects``.
"""

from __future__ import annotations

from typing import Any

from fpgakd.learn.runtime import configure_tensorflow

configure_tensorflow()   # before TensorFlow's first import: oneDNN off, fixed threads

import tensorflow as tf  # noqa: E402

from fpgakd.learn.pairs import pair_features_tf  # noqa: E402

__all__ = ["teacher_layers", "MaskedPooling", "MaskedSelfAttention", "PairBiasSelfAttention", "EdgeConv"]

#: added to the squared distance of pairs that must never be neighbours (padding, self)
_FAR = 1e9
#: added to attention scores of padded keys: exp(-1e9) is exactly 0 in float32
_MASKED_SCORE = -1e9


def particle_mask(mask: Any, like: Any) -> Any:
    """The (B, P) mask as (B, P, 1) in the dtype of ``like``, to multiply particle features."""
    return tf.expand_dims(tf.cast(mask, like.dtype), -1)


class MaskedPooling(tf.keras.layers.Layer):
    """Masked mean (and, with ``with_sum``, sum / P) over the particle axis."""

    def __init__(self, with_sum: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.with_sum = with_sum

    def call(self, inputs):  # noqa: D401 - Keras API
        h, mask = inputs
        m = particle_mask(mask, h)
        total = tf.reduce_sum(h * m, axis=1)
        count = tf.maximum(tf.reduce_sum(m, axis=1), 1.0)
        parts = [total / count]
        if self.with_sum:
            parts.append(total / tf.cast(tf.shape(h)[1], h.dtype))
        return tf.concat(parts, axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "with_sum": self.with_sum}


class MaskedSelfAttention(tf.keras.layers.Layer):
    """Pre-norm self-attention block over particles; padded particles are never attended."""

    def __init__(self, width: int, heads: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.width, self.heads = width, heads
        # creation order fixes the weight order in saved files: keep it
        self.norm1 = tf.keras.layers.LayerNormalization()
        self._make_attention()
        self.norm2 = tf.keras.layers.LayerNormalization()
        self.ff1 = tf.keras.layers.Dense(2 * width, activation="relu")
        self.ff2 = tf.keras.layers.Dense(width)

    def _make_attention(self) -> None:
        self.attn = tf.keras.layers.MultiHeadAttention(self.heads, max(1, self.width // self.heads))

    def _attend(self, a, pair, inputs):
        return self.attn(a, a, attention_mask=pair)

    def call(self, inputs):  # noqa: D401 - Keras API
        h, mask = inputs[0], inputs[1]
        m = tf.cast(mask, tf.bool)
        pair = tf.logical_and(m[:, :, None], m[:, None, :])
        h = h + self._attend(self.norm1(h), pair, inputs)
        h = h + self.ff2(self.ff1(self.norm2(h)))
        return h * particle_mask(mask, h)

    def get_config(self) -> dict:
        return {**super().get_config(), "width": self.width, "heads": self.heads}


class PairBiasSelfAttention(MaskedSelfAttention):
    """Self-attention whose scores get a per-head bias from pairwise features (ParT).

    Inputs ``[h, mask, kin]``; the bias of pair (i, j) is a small MLP of
    ``pair_features(kin_i, kin_j)``, so the block stays permutation equivariant.
    """

    def __init__(self, width: int, heads: int = 4, pair_features: tuple[str, ...] = (),
                 **kwargs: Any) -> None:
        self.pair_features = tuple(pair_features)
        super().__init__(width, heads, **kwargs)

    def _make_attention(self) -> None:
        self.qkv = tf.keras.layers.Dense(3 * self.width)
        self.proj = tf.keras.layers.Dense(self.width)
        self.pair1 = tf.keras.layers.Dense(self.width, activation="relu")
        self.pair2 = tf.keras.layers.Dense(self.heads)

    def _attend(self, a, pair, inputs):
        kin = inputs[2]
        d = self.width // self.heads
        q, k, v = tf.split(self.qkv(a), 3, axis=-1)

        def heads(t):   # (B, P, W) -> (B, H, P, d)
            return tf.transpose(tf.reshape(t, [tf.shape(t)[0], -1, self.heads, d]), [0, 2, 1, 3])

        scores = tf.matmul(heads(q), heads(k), transpose_b=True) / float(d) ** 0.5
        feats = pair_features_tf(kin[:, :, None, :], kin[:, None, :, :], self.pair_features)
        bias = tf.transpose(self.pair2(self.pair1(feats)), [0, 3, 1, 2])
        scores = tf.where(pair[:, None], scores + bias, _MASKED_SCORE)
        out = tf.matmul(tf.nn.softmax(scores, axis=-1), heads(v))
        out = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [tf.shape(a)[0], -1, self.width])
        return self.proj(out)

    def get_config(self) -> dict:
        return {**super().get_config(), "pair_features": list(self.pair_features)}


class EdgeConv(tf.keras.layers.Layer):
    """ParticleNet's EdgeConv: mean over the k nearest neighbours of MLP([x_i, x_j - x_i]).

    Inputs ``[h, mask, kin]``. Neighbours are found in (deta, dphi) from ``kin``, or in
    the space of ``h`` with ``feature_space``; padded particles and the particle itself are
    never neighbours (their distance is pushed to ``_FAR``, and neighbours a small jet
    cannot fill are left out of the mean). With ``pair_features`` the edge MLP also reads
    the pair's Lorentz-invariant features. A linear shortcut of ``h`` is added, as in
    ParticleNet.
    """

    def __init__(self, width: int, k: int = 16, n_layers: int = 2, feature_space: bool = False,
                 pair_features: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.width, self.k, self.n_layers, self.in_feature_space = width, k, n_layers, feature_space
        self.pair_features = tuple(pair_features)
        self.edge_mlp = [tf.keras.layers.Dense(width, activation="relu") for _ in range(n_layers)]
        self.shortcut = tf.keras.layers.Dense(width)

    def _neighbours(self, coords, mask):
        """(B, P, k) indices of each particle's nearest real neighbours and their validity."""
        sq = tf.reduce_sum(coords ** 2, axis=-1)
        d2 = sq[:, :, None] + sq[:, None, :] - 2.0 * tf.matmul(coords, coords, transpose_b=True)
        m = tf.cast(mask, tf.bool)
        n = tf.shape(coords)[1]
        ok = tf.logical_and(m[:, None, :], tf.logical_not(tf.eye(n, dtype=tf.bool))[None])
        d2 = tf.where(ok, d2, _FAR)
        k = min(self.k, coords.shape[1] - 1)
        idx = tf.math.top_k(-d2, k=k).indices
        return idx, tf.gather(ok, idx, batch_dims=2)

    def call(self, inputs):  # noqa: D401 - Keras API
        h, mask, kin = inputs
        coords = h if self.in_feature_space else kin[..., :2]
        idx, valid = self._neighbours(tf.stop_gradient(coords), mask)
        x_i = tf.broadcast_to(h[:, :, None, :], tf.concat([tf.shape(idx), tf.shape(h)[-1:]], 0))
        edge = [x_i, tf.gather(h, idx, batch_dims=1) - x_i]
        if self.pair_features:
            kin_j = tf.gather(kin, idx, batch_dims=1)
            edge.append(pair_features_tf(kin[:, :, None, :], kin_j, self.pair_features))
        e = tf.concat(edge, axis=-1)
        for dense in self.edge_mlp:
            e = dense(e)
        w = tf.expand_dims(tf.cast(valid, e.dtype), -1)
        agg = tf.reduce_sum(e * w, axis=2) / tf.maximum(tf.reduce_sum(w, axis=2), 1.0)
        out = tf.nn.relu(self.shortcut(h) + agg)
        return out * particle_mask(mask, out)

    def get_config(self) -> dict:
        return {**super().get_config(), "width": self.width, "k": self.k,
                "n_layers": self.n_layers, "feature_space": self.in_feature_space,
                "pair_features": list(self.pair_features)}


def teacher_layers() -> dict[str, type]:
    """The teachers' custom Keras layers by class name.

    >>> sorted(teacher_layers())
    ['EdgeConv', 'MaskedPooling', 'MaskedSelfAttention', 'PairBiasSelfAttention']
    """
    return {cls.__name__: cls for cls in (MaskedPooling, MaskedSelfAttention, PairBiasSelfAttention, EdgeConv)}
