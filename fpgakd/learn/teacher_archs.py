"""The built-in teacher architectures: one builder per ``TeacherConfig.arch``.

Every teacher reads named inputs (see :func:`teacher_input_names`): ``constituents``
(P, F) standardized, ``mask`` (P,), and where the config needs them ``kinematics`` (P, 3)
raw (deta, dphi, pt) for neighbours and pairwise features, and ``hlf`` (16,) standardized
high-level features joined after pooling. Each builder maps particles to a per-particle
representation; pooling over real particles, the optional ``hlf`` and the head are shared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpgakd.config import TeacherConfig
from fpgakd.errors import ConfigError, DataError
from fpgakd.jets.jetfile import HLF_NAMES
from fpgakd.learn.pairs import KINEMATIC_FEATURES
from fpgakd.learn.runtime import configure_tensorflow

__all__ = ["build_teacher", "teacher_input_names", "teacher_custom_objects", "load_teacher_model", "CONSTITUENTS", "MASK", "KINEMATICS", "HLF"]

CONSTITUENTS, MASK, KINEMATICS, HLF = "constituents", "mask", "kinematics", "hlf"
#: per-particle Dense layers of the Deep Sets teacher
_DEEPSETS_PHI_LAYERS = 3


def teacher_input_names(cfg: TeacherConfig) -> tuple[str, ...]:
    """The inputs a teacher built from ``cfg`` takes, in order.

    >>> teacher_input_names(TeacherConfig(arch="edgeconv", global_hlf=True))
    ('constituents', 'mask', 'kinematics', 'hlf')
    """
    names = [CONSTITUENTS, MASK]
    if cfg.arch == "edgeconv" or cfg.pair_features:
        names.append(KINEMATICS)
    if cfg.global_hlf:
        names.append(HLF)
    return tuple(names)


def _layers() -> dict[str, type]:
    # the layers' module imports TensorFlow: only once a teacher is built
    from fpgakd.learn.teacher_layers import teacher_layers

    return teacher_layers()


def _deepsets(cfg: TeacherConfig, x: Any, mask: Any, kin: Any) -> Any:
    import tensorflow as tf

    h = x
    for i in range(_DEEPSETS_PHI_LAYERS):
        h = tf.keras.layers.Dense(cfg.width, activation="relu", name=f"phi{i + 1}")(h)
    return h


def _attention(cfg: TeacherConfig, x: Any, mask: Any, kin: Any) -> Any:
    import tensorflow as tf

    layers = _layers()
    h = tf.keras.layers.Dense(cfg.width, activation="relu", name="embed")(x)
    for i in range(cfg.attention_blocks):
        name = f"block{i + 1}"
        if cfg.pair_features:
            h = layers["PairBiasSelfAttention"](cfg.width, cfg.attention_heads, cfg.pair_features,
                                                name=name)([h, mask, kin])
        else:
            h = layers["MaskedSelfAttention"](cfg.width, cfg.attention_heads, name=name)([h, mask])
    return h


def _edgeconv(cfg: TeacherConfig, x: Any, mask: Any, kin: Any) -> Any:
    layers = _layers()
    h = x
    for i in range(cfg.edge_blocks):
        h = layers["EdgeConv"](cfg.width, cfg.edge_k, cfg.edge_layers, feature_space=cfg.edge_dynamic and i > 0,
                               pair_features=cfg.pair_features, name=f"edge{i + 1}")([h, mask, kin])
    return h


_ARCHS = {"deepsets": _deepsets, "attention": _attention, "edgeconv": _edgeconv}
#: the head after pooling: (widths as multiples of cfg.width) per arch, as first built
_HEADS = {"deepsets": (2, 1), "attention": (1,), "edgeconv": (2, 1)}


def build_teacher(cfg: TeacherConfig, n_particles: int, n_features: int,
                  n_classes: int) -> "tf.keras.Model":  # noqa: F821
    """Build the (untrained) teacher for ``cfg``; inputs as :func:`teacher_input_names`.

    >>> build_teacher(TeacherConfig(), 64, 7, 5).output_shape    # doctest: +SKIP
    (None, 5)
    """
    configure_tensorflow()
    import tensorflow as tf

    if cfg.arch not in _ARCHS:
        raise ConfigError(f"teacher arch {cfg.arch!r}: allowed {', '.join(map(repr, _ARCHS))}")
    shapes = {CONSTITUENTS: (n_particles, n_features), MASK: (n_particles,),
              KINEMATICS: (n_particles, len(KINEMATIC_FEATURES)), HLF: (len(HLF_NAMES),)}
    inputs = {name: tf.keras.Input(shape=shapes[name], name=name) for name in teacher_input_names(cfg)}
    h = _ARCHS[cfg.arch](cfg, inputs[CONSTITUENTS], inputs[MASK], inputs.get(KINEMATICS))
    h = _layers()["MaskedPooling"](with_sum=True, name="pool")([h, inputs[MASK]])
    if HLF in inputs:
        h = tf.keras.layers.Concatenate(name="with_hlf")([h, inputs[HLF]])
    for i, scale in enumerate(_HEADS[cfg.arch]):
        h = tf.keras.layers.Dense(scale * cfg.width, activation="relu", name=f"rho{i + 1}")(h)
    out = tf.keras.layers.Dense(n_classes, name="logits")(h)
    return tf.keras.Model(list(inputs.values()), out, name=f"teacher_{cfg.arch}")


def teacher_custom_objects() -> dict[str, Any]:
    """Custom objects needed to load a built-in teacher file.

    >>> sorted(teacher_custom_objects())                       # doctest: +SKIP
    ['EdgeConv', 'MaskedPooling', 'MaskedSelfAttention', 'PairBiasSelfAttention']
    """
    from fpgakd.learn.teacher_layers import teacher_layers   # imports TensorFlow

    return dict(teacher_layers())


def load_teacher_model(path: Path) -> "tf.keras.Model":  # noqa: F821
    """A teacher's Keras model file, with the built-in teacher layers; DataError naming the
    file if it is not one.

    >>> load_teacher_model(Path("runs/teacher/teacher_fold0.h5"))       # doctest: +SKIP
    <keras.engine.functional.Functional object at ...>
    """
    import tensorflow as tf

    try:
        return tf.keras.models.load_model(path, custom_objects=teacher_custom_objects(), compile=False)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise DataError(f"{path}: not a loadable Keras teacher model ({err})") from None
