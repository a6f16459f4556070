"""Distillation losses (Hinton et al. 2015) and their Keras wrappers.

Classification students minimise::

    alpha * CE(y, q) + (1 - alpha) * T^2 * KL(p_T || q_T)

with ``q = softmax(z_student)``, ``p_T = softmax(z_teacher / T)`` and ``q_T = softmax(z_student / T)``.
Regression students (``task: regressor``) output one logit ``z`` and minimise MAE (or MSE) between
``sigmoid(z)`` and the teacher's probability.
"""

from __future__ import annotations

from typing import Any

from fpgakd.errors import ConfigError

__all__ = ["kd_loss", "regression_kd_loss", "keras_loss", "keras_accuracy", "pack_classifier_targets"]


def kd_loss(y_true: Any, teacher_logits: Any, student_logits: Any, *, temperature: float,
            alpha: float) -> "tf.Tensor":  # noqa: F821
    """Batch mean of ``alpha*CE(y, q) + (1 - alpha)*T^2*KL(p_T || q_T)``.

    ``y_true`` holds integer labels (N,) or one-hot rows (N, C); the logits are (N, C).
    Works on NumPy arrays and tensors alike (and inside ``model.fit``).

    >>> float(kd_loss([0], [[0.0, 0.0]], [[0.0, 0.0]], temperature=2.0, alpha=1.0))  # doctest: +SKIP
    0.6931...
    """
    import tensorflow as tf

    s = tf.convert_to_tensor(student_logits, dtype=tf.float32)
    t = tf.convert_to_tensor(teacher_logits, dtype=tf.float32)
    y = tf.convert_to_tensor(y_true)
    if y.shape.rank == 1:
        y = tf.one_hot(tf.cast(y, tf.int32), tf.shape(s)[-1])
    y = tf.cast(y, tf.float32)
    ce = -tf.reduce_sum(y * tf.nn.log_softmax(s, axis=-1), axis=-1)
    log_p = tf.nn.log_softmax(t / temperature, axis=-1)
    log_q = tf.nn.log_softmax(s / temperature, axis=-1)
    kl = tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1)
    return tf.reduce_mean(alpha * ce + (1.0 - alpha) * temperature ** 2 * kl)


def regression_kd_loss(target: Any, student_logits: Any, *, kind: str = "mae",
                       weight: Any = None) -> "tf.Tensor":  # noqa: F821
    """Mean ``|sigmoid(z) - target|`` (``kind="mae"``), its square (``"mse"``) or the binary
    cross-entropy of ``sigmoid(z)`` against the target as a soft label (``"bce"``, Hinton's KD for
    one probability; like ``"mse"`` it is least at the target's conditional mean, and its gradient
    does not vanish where the sigmoid saturates); with ``weight`` (one per row), the weighted
    mean ``sum(weight * error) / sum(weight)``.

    >>> float(regression_kd_loss([[0.5]], [[0.0]]))                 # doctest: +SKIP
    0.0
    """
    import tensorflow as tf

    z = tf.reshape(tf.convert_to_tensor(student_logits, dtype=tf.float32), [-1])
    p = tf.reshape(tf.convert_to_tensor(target, dtype=tf.float32), [-1])
    diff = tf.sigmoid(z) - p
    if kind == "mae":
        error = tf.abs(diff)
    elif kind == "mse":
        error = tf.square(diff)
    elif kind == "bce":
        error = tf.nn.sigmoid_cross_entropy_with_logits(labels=p, logits=z)
    else:
        raise ConfigError(f"distillation.regression_loss: got {kind!r}, allowed: 'mae', 'mse', 'bce'")
    if weight is None:
        return tf.reduce_mean(error)
    w = tf.reshape(tf.convert_to_tensor(weight, dtype=tf.float32), [-1])
    return tf.reduce_sum(w * error) / tf.reduce_sum(w)


def pack_classifier_targets(labels: Any, teacher_logits: Any, n_classes: int) -> Any:
    """The classifier targets :func:`keras_loss` reads: [one-hot labels | teacher logits] (N, 2C);
    the scratch twin's loss (alpha = 1) ignores the logits.

    >>> pack_classifier_targets(np.array([1]), np.zeros((1, 2), np.float32), 2).tolist()  # doctest: +SKIP
    [[0.0, 1.0, 0.0, 0.0]]
    """
    import numpy as np

    one_hot = np.eye(n_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]
    return np.concatenate([one_hot, teacher_logits], axis=1)


def keras_loss(task: str, mode: str, n_classes: int, temperature: float, alpha: float,
                regression: str, weighted: bool = False):
    """A Keras loss reading packed ``y_true`` = [one-hot | teacher logits] or [target]
    (``weighted``: [target | weight], the regression's per-row weight)."""
    import tensorflow as tf

    if task == "classifier":
        def loss(y_true, y_pred):
            return kd_loss(y_true[:, :n_classes], y_true[:, n_classes:], y_pred,
                           temperature=temperature, alpha=alpha)
    elif mode == "kd":
        def loss(y_true, y_pred):
            return regression_kd_loss(y_true[:, :1], y_pred, kind=regression,
                                      weight=y_true[:, 1] if weighted else None)
    else:
        def loss(y_true, y_pred):
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.reshape(y_true[:, :1], [-1]), logits=tf.reshape(y_pred, [-1])))
    loss.__name__ = f"{mode}_loss"
    return loss


def keras_accuracy(n_classes: int):
    import tensorflow as tf

    def accuracy(y_true, y_pred):
        return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y_true[:, :n_classes], axis=-1),
                                               tf.argmax(y_pred, axis=-1)), tf.float32))
    return accuracy


