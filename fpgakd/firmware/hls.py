"""The hls4ml side of the firmware stage: which models convert, the one mapping of fpgakd's
:class:`~fpgakd.config.FirmwareConfig` onto hls4ml's settings (:func:`hls4ml_config`), the
conversion with hls4ml's QKeras precision-propagation flow (``bit_exact=True``, so the firmware
computes the same logits as QKeras bit for bit), and running the HLS tool where one is on PATH.

An HGQ student converts as its proxy model (:mod:`fpgakd.learn.hgq_students`): plain Dense
and ReLU layers between ``FixedPointQuantizer`` layers, whose formats hls4ml's proxy-model
handler reads, so the firmware computes the proxy's outputs bit for bit. The trainable HGQ
model itself is refused with a message pointing to its proxy.

A float (non-QKeras) Keras model converts too, with hls4ml's default fixed-point types, but
cannot be bit-exact.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from fpgakd.config import FirmwareConfig
from fpgakd.errors import FpgakdError, ToolError

__all__ = ["hls4ml_config", "convert_model", "convert_keras_model", "is_quantized", "quantizer_of", "check_supported",
           "find_hls_tool", "logit_layer_names", "traced_logit_layer",
           "load_keras", "n_features", "run_hls", "SUPPORTED_LAYERS", "HLS_TOOLS", "OUTPUTS"]

log = logging.getLogger(__name__)

#: Keras layer classes the firmware stage converts: those of fpgakd's MLP, Deep Sets and
#: interaction students (:mod:`fpgakd.learn.deepsets_students`,
#: :mod:`fpgakd.learn.interaction_students`; an HGQ Deep Sets proxy pools with
#: ``MaxPooling1D`` / ``AveragePooling1D`` over all its particles), which
#: the C-simulation regression (tests/test_csim.py) checks bit for bit. Anything else
#: (convolutions, recurrent layers, ...) is refused up front with the layer named.
SUPPORTED_LAYERS = frozenset({"InputLayer", "Dense", "QDense", "Activation", "QActivation", "ReLU",
                              "FixedPointQuantizer", "Reshape", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
                              "MaxPooling1D", "AveragePooling1D",
                              "Concatenate", "Add", "Multiply", "Cropping1D", "Flatten"})

#: strategies hls4ml accepts on Dense layers only (on the input layer it raises)
DENSE_ONLY_STRATEGIES = frozenset({"distributed_arithmetic"})

#: executables that run hls4ml's build, per hls4ml backend (hls4ml 1.3.0 runs
#: ``vitis-run`` for Vitis and ``vivado_hls`` for Vivado)
HLS_TOOLS = {"Vitis": ("vitis-run", "vitis_hls"), "Vivado": ("vivado_hls",)}

#: what may follow the student's logit in firmware (ModelConfig.output)
OUTPUTS = ("linear", "sigmoid")

#: lines of a failing HLS tool's log quoted in the error
_TAIL_LINES = 30



# ---------------------------------------------------------------- model inspection
def quantizer_of(model: Any) -> str:
    """Which quantizer made ``model``: ``"qkeras"``, ``"hgq"`` (an HGQ proxy model, or a
    trainable HGQ student) or ``"float"``.

    >>> quantizer_of(build_student(load_model_config("hlf_mlp"), 16, 5))   # doctest: +SKIP
    'qkeras'
    """
    modules = {type(layer).__module__.split(".")[0] for layer in model.layers}
    if "qkeras" in modules:
        return "qkeras"
    return "hgq" if "HGQ" in modules else "float"


def is_quantized(model: Any) -> bool:
    """True if ``model`` has QKeras layers or is an HGQ proxy (only then can the firmware be
    bit-exact).

    >>> is_quantized(build_student(load_model_config("hlf_mlp"), 16, 5))   # doctest: +SKIP
    True
    """
    return quantizer_of(model) != "float"


def check_supported(model: Any, source: str = "<model>") -> None:
    """Raise :class:`~fpgakd.errors.FpgakdError` naming the first layer fpgakd does not convert.

    >>> check_supported(lstm_model, "rnn.h5")                                # doctest: +SKIP
    fpgakd.errors.FpgakdError: rnn.h5: layer 'lstm' of type LSTM is not supported ...
    """
    from fpgakd.learn.hgq_students import is_hgq_model

    if is_hgq_model(model):
        raise FpgakdError(f"{source}: a trainable HGQ student; the firmware stage takes its proxy model "
                          "(student_<mode>_proxy.h5 beside it in the distill run: give the run directory "
                          "or that file)")
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in SUPPORTED_LAYERS:
            raise FpgakdError(
                f"{source}: layer '{layer.name}' of type {kind} is not supported by fpgakd's firmware "
                f"stage; supported layer types: {', '.join(sorted(SUPPORTED_LAYERS))}")


def _strip_pruning(model: Any) -> Any:
    # a student saved mid-pruning still has PruneLowMagnitude wrappers; hls4ml wants the layers
    if not any(type(layer).__name__ == "PruneLowMagnitude" for layer in model.layers):
        return model
    from tensorflow_model_optimization.sparsity.keras import strip_pruning

    log.info("stripping pruning wrappers from %s", model.name)
    return strip_pruning(model)


def load_keras(model_or_path: Any) -> tuple[Any, str]:
    if isinstance(model_or_path, (str, os.PathLike)):
        from fpgakd.learn.students import load_student

        return _strip_pruning(load_student(model_or_path)), str(model_or_path)
    return _strip_pruning(model_or_path), f"<model {model_or_path.name}>"


def n_features(model: Any) -> tuple[int, int]:
    shape_in, shape_out = model.input_shape, model.output_shape
    if not (isinstance(shape_in, tuple) and len(shape_in) == 2 and isinstance(shape_out, tuple)
            and len(shape_out) == 2):
        raise FpgakdError(f"model '{model.name}': expected one flat input and one flat output, "
                          f"got input shape {shape_in} and output shape {shape_out}")
    return int(shape_in[1]), int(shape_out[1])


# ---------------------------------------------------------------- fpgakd config -> hls4ml
def hls4ml_config(model: Any, firmware: FirmwareConfig, part: str) -> dict:
    """Map ``firmware`` onto hls4ml: the keyword arguments of ``convert_from_keras_model``.

    The result holds ``hls_config`` (from ``hls4ml.utils.config_from_keras_model`` at
    granularity ``name``, with the strategy and reuse factor set), ``part``,
    ``clock_period`` (ns), ``clock_uncertainty``, ``io_type``, ``backend`` and
    ``bit_exact`` (hls4ml's QKeras precision propagation; off for a float model, where
    hls4ml's flow needs an input quantizer that is not there).

    >>> kw = hls4ml_config(model, load_firmware_config(), "xcvu13p-flga2577-2-e")  # doctest: +SKIP
    >>> kw["clock_period"], kw["hls_config"]["Model"]["Strategy"]                  # doctest: +SKIP
    (4.167, 'Latency')
    """
    import hls4ml

    with contextlib.redirect_stdout(io.StringIO()):   # hls4ml prints each layer it parses
        hls_config = hls4ml.utils.config_from_keras_model(
            model, granularity="name", backend=firmware.backend,
            default_reuse_factor=firmware.reuse_factor)
    dense_only = firmware.strategy in DENSE_ONLY_STRATEGIES
    hls_config["Model"]["Strategy"] = "Latency" if dense_only else firmware.strategy
    hls_config["Model"]["ReuseFactor"] = firmware.reuse_factor
    dense = {layer.name for layer in model.layers if type(layer).__name__ in ("Dense", "QDense")}
    for name, layer in hls_config.get("LayerName", {}).items():
        if "ReuseFactor" in layer:
            layer["ReuseFactor"] = firmware.reuse_factor
        if dense_only and name in dense:
            layer["Strategy"] = firmware.strategy
    _set_pooling_precision(model, hls_config)
    return {
        "hls_config": hls_config,
        "part": part,
        "clock_period": round(firmware.clock_period_ns, 3),
        "clock_uncertainty": f"{firmware.clock_uncertainty_pct:g}%",
        "io_type": firmware.io_type,
        "backend": firmware.backend,
        "bit_exact": bool(firmware.bit_exact and is_quantized(model)),
    }


def _set_pooling_precision(model: Any, hls_config: dict) -> None:
    # hls4ml 1.3 infers no exact accumulator for a global pooling (its default type rounds the
    # mean); and its Dense-to-pointwise-Conv1D rewrite drops the QKeras weight quantizer, so the
    # per-particle layers get the quantizer's type here (their kernels: _quantize_particle_kernels)
    from fpgakd.learn.deepsets_students import POOL_LAYER, is_deepsets_model, pooling_precisions
    from fpgakd.learn.interaction_students import MASK_BIT, UPDATE_POOL, UPDATE_RELU, is_interaction_model

    if not is_deepsets_model(model) or quantizer_of(model) != "qkeras":
        return
    pools = {POOL_LAYER: model.get_layer(POOL_LAYER).inbound_nodes[0].inbound_layers}
    if is_interaction_model(model):
        # the masked update is the update relu's value times a 0/1 bit: on the relu's grid
        pools[UPDATE_POOL] = model.get_layer(UPDATE_RELU)
        # hls4ml 1.3 types a quantized_relu with no fractional bits as a plain integer (it
        # truncates); the mask bit rounds half to even, as QKeras does
        q = model.get_layer(MASK_BIT).quantizer
        hls_config["LayerName"].setdefault(MASK_BIT, {})["Precision"] = {
            "result": f"ufixed<{int(q.bits)},{int(q.integer)},RND_CONV,SAT>"}
    for pool, relu in pools.items():
        precisions = pooling_precisions(model.get_layer(pool), int(relu.quantizer.bits), int(relu.quantizer.integer))
        hls_config["LayerName"].setdefault(pool, {})["Precision"] = precisions
    _set_join_precision(model, hls_config)
    for layer in _pointwise_layers(model):
        q = layer.kernel_quantizer_internal
        hls_config["LayerName"].setdefault(layer.name, {})["Precision"] = {
            "weight": f"fixed<{int(q.bits)},{int(q.integer) + 1}>", "bias": "fixed<1,0>"}


def _set_join_precision(model: Any, hls_config: dict) -> None:
    """With the high-level features at the head: the crops keep the input quantizer's type, and
    the join's type holds the pooled particles (unsigned) and the features (signed) exactly."""
    from fpgakd.learn.deepsets_students import HLF_CROP_LAYER, HLF_LAYER, JOIN_LAYER, PARTICLES_CROP_LAYER, POOL_LAYER
    from fpgakd.learn.students import INPUT_QUANT_LAYER

    if JOIN_LAYER not in {layer.name for layer in model.layers}:
        return
    q = model.get_layer(INPUT_QUANT_LAYER).quantizer      # quantized_bits(bits, integer): signed
    in_int, in_frac = int(q.integer) + 1, int(q.bits) - int(q.integer) - 1
    for name in (PARTICLES_CROP_LAYER, HLF_CROP_LAYER, HLF_LAYER):
        hls_config["LayerName"].setdefault(name, {})["Precision"] = {"result": f"fixed<{in_int + in_frac},{in_int}>"}
    width, integer = map(int, re.findall(r"\d+", hls_config["LayerName"][POOL_LAYER]["Precision"]["result"]))
    join_int, join_frac = max(integer + 1, in_int), max(width - integer, in_frac)
    hls_config["LayerName"].setdefault(JOIN_LAYER, {})["Precision"] = {"result": f"fixed<{join_int + join_frac},{join_int}>"}


def _teach_hls4ml_crops() -> None:
    """Teach hls4ml 1.3's bit-exact pass what a Cropping1D produces: the kept rows of its input's
    fixed-point formats. That pass has no rule for the layer (it raises NotImplementedError), yet
    a crop only drops values; a Deep Sets student with the high-level features crops its input.
    An HGQ one crops it before its quantizers, so the pass that types the input from the
    quantizers behind it must also walk through a crop (it walks Reshape, Transpose and
    Concatenate only). Private hls4ml functions (the pinned 1.3.0): a newer hls4ml may have both."""
    from hls4ml.model.layers import Concatenate, Cropping1D, Reshape, Transpose
    from hls4ml.model.optimizer.passes import bit_exact

    if Cropping1D in bit_exact._produce_kif.registry:
        return

    def cropped(layer: Any) -> Any:
        kif = bit_exact.produce_kif(bit_exact.get_input_layers(layer)[0])
        left, width = int(layer.attributes["crop_left"]), int(layer.attributes["out_width"])
        return tuple(a[left:left + width] for a in kif)

    def layers_and_quantizers(node: Any, layers: list | None = None, quantizers: list | None = None) -> tuple:
        layers = [] if layers is None else layers
        quantizers = [] if quantizers is None else quantizers
        for out in bit_exact.get_output_layers(node):
            if isinstance(out, bit_exact.FixedPointQuantizer):
                quantizers.append(out)
            elif isinstance(out, (Reshape, Transpose, Concatenate, Cropping1D)):
                layers.append(out)
                layers_and_quantizers(out, layers, quantizers)
            else:
                raise ValueError(f"Layer {node.name} ({node.class_name}) unexpected input layer chain.")
        return layers, quantizers

    bit_exact._produce_kif.register(Cropping1D, cropped)
    bit_exact.get_output_layers_and_quantizers = layers_and_quantizers


def _pointwise_layers(model: Any) -> list[Any]:
    """The QDense layers on a (particles, features) tensor: hls4ml rewrites each into a
    pointwise Conv1D. All are bias-free in fpgakd's students (padding must stay zero)."""
    layers = [layer for layer in model.layers
              if getattr(layer, "kernel", None) is not None and len(layer.input_shape) == 3]
    for layer in layers:
        if getattr(layer, "bias", None) is not None:
            raise FpgakdError(f"layer '{layer.name}': a per-particle QDense with a bias is not converted "
                              "bit-exactly (hls4ml's pointwise rewrite drops its bias quantizer)")
    return layers


def _quantize_particle_kernels(model: Any) -> Any:
    """A copy of a Deep Sets or interaction ``model`` whose per-particle kernels hold their
    quantized values (the same logits: the quantizer leaves a quantized value as it is)."""
    import tensorflow as tf

    from fpgakd.learn.deepsets_students import is_deepsets_model

    if not is_deepsets_model(model) or quantizer_of(model) != "qkeras":
        return model
    copy = tf.keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in _pointwise_layers(copy):
        layer.kernel.assign(layer.kernel_quantizer_internal(layer.kernel))
    return copy


def logit_layer_names(model: Any) -> list[str]:
    """The layers whose output may be the firmware's logit, in hls4ml's graph: the last layer,
    and for an HGQ proxy the Dense before its last ``FixedPointQuantizer`` (hls4ml fuses that
    quantizer into the Dense's result type and drops it).

    >>> logit_layer_names(proxy)                                     # doctest: +SKIP
    ['output_quantizer', 'output']
    """
    last = model.layers[-1]
    names = [last.name]
    if type(last).__name__ == "FixedPointQuantizer":
        names.append(last.inbound_nodes[0].inbound_layers.name)
    return names


def traced_logit_layer(model: Any, hls_model: Any) -> str:
    """The name of ``model``'s logit layer in the converted ``hls_model`` (see :func:`logit_layer_names`).

    >>> traced_logit_layer(proxy, hls_model)                         # doctest: +SKIP
    'output'
    """
    names = logit_layer_names(model)
    found = next((name for name in names if name in hls_model.graph), None)
    if found is None:
        raise FpgakdError(f"model '{model.name}': none of its logit layers ({', '.join(names)}) is in "
                          f"hls4ml's converted model (its layers: {', '.join(hls_model.graph)})")
    return found


def convert_keras_model(model: Any, source: str, firmware: FirmwareConfig, part: str, output_dir: Path,
                        project_name: str, output: str = "linear") -> Any:
    """Convert a Keras student with hls4ml; ``output="sigmoid"`` appends hls4ml's sigmoid table
    (:mod:`fpgakd.firmware.sigmoid`) after the logit, whose layer is then traced."""
    import hls4ml

    check_supported(model, source)
    if output not in OUTPUTS:
        raise FpgakdError(f"{source}: output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    logit_layers = logit_layer_names(model)
    if output == "sigmoid":
        from fpgakd.firmware.sigmoid import append_sigmoid

        model = append_sigmoid(model)
    if not is_quantized(model):
        log.warning("%s has no QKeras layers: a float model cannot be converted bit-exactly; "
                    "hls4ml's default fixed-point types are used", source)
    elif not firmware.bit_exact:
        log.warning("%s: firmware config has bit_exact: false; the firmware may differ from QKeras",
                    source)
    model = _quantize_particle_kernels(model)
    _teach_hls4ml_crops()
    kwargs = hls4ml_config(model, firmware, part)
    if output == "sigmoid":
        # hls_model.trace() then returns the firmware's logit beside its sigmoid output
        for name in logit_layers:
            if name in kwargs["hls_config"]["LayerName"]:
                kwargs["hls_config"]["LayerName"][name]["Trace"] = True
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            hls_model = hls4ml.converters.convert_from_keras_model(
                model, output_dir=str(output_dir), project_name=project_name, **kwargs)
    except Exception as err:  # hls4ml raises bare Exception/ValueError/NotImplementedError
        raise FpgakdError(f"{source}: hls4ml could not convert the model ({type(err).__name__}: {err})") from None
    log.debug("hls4ml conversion output:\n%s", buf.getvalue())
    if output == "sigmoid":
        from fpgakd.firmware.sigmoid import set_sigmoid_table

        set_sigmoid_table(hls_model, firmware.sigmoid_table_size)
    return hls_model


def convert_model(model_path: str | os.PathLike | Any, firmware: FirmwareConfig, *, part: str | None = None,
                  output_dir: str | os.PathLike, project_name: str = "myproject", output: str = "linear") -> Any:
    """Convert a student (``.h5`` path or Keras model) into an hls4ml model (not yet written).

    Raises :class:`~fpgakd.errors.FpgakdError` naming the layer and its type if a layer is
    not supported. For a float (non-QKeras) model it logs a warning; check with
    :func:`is_quantized` whether bit-exactness can be expected. ``output="sigmoid"`` puts
    hls4ml's sigmoid table (``firmware.sigmoid_table_size`` entries) after the logit.

    >>> hls_model = convert_model("runs/hlf_mlp/student_kd.h5", load_firmware_config(),
    ...                           output_dir="/tmp/prj")                  # doctest: +SKIP
    >>> hls_model.compile()                                                 # doctest: +SKIP
    """
    model, source = load_keras(model_path)
    return convert_keras_model(model, source, firmware, firmware.resolve_part(part), Path(output_dir), project_name,
                               output)


# ---------------------------------------------------------------- HLS tool
def find_hls_tool(backend: str) -> str | None:
    """Path of the HLS executable hls4ml's ``backend`` builds with, or None if none is on PATH.

    >>> find_hls_tool("Vitis")                                              # doctest: +SKIP
    '/tools/Xilinx/Vitis/2024.2/bin/vitis-run'
    """
    for name in HLS_TOOLS.get(backend, ()):
        path = shutil.which(name)
        if path:
            return path
    return None


def _log_tail(project_dir: Path) -> str:
    lines: list[str] = []
    for name in ("build_stdout.log", "build_stderr.log", "vivado_hls.log", "vitis_hls.log"):
        path = project_dir / name
        if path.is_file():
            text = path.read_text(errors="replace").strip().splitlines()
            lines += [f"--- {name}"] + text[-_TAIL_LINES:]
    return "\n".join(lines) if lines else "(no tool log found)"


def run_hls(hls_model: Any, firmware: FirmwareConfig, tool: str, project_dir: Path) -> dict:
    from fpgakd.firmware.reports import read_project_report

    kwargs: dict[str, Any] = {"csim": False, "synth": True, "vsynth": False}
    if firmware.backend == "Vitis":
        kwargs["log_to_stdout"] = False   # hls4ml then writes build_stdout.log / build_stderr.log
    log.info("running HLS synthesis with %s in %s (this takes minutes)", tool, project_dir)
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            hls_model.build(**kwargs)
    except Exception as err:  # hls4ml raises a bare Exception when the tool fails
        raise ToolError(f"{tool} failed on {project_dir} ({err}):\n{_log_tail(project_dir)}") from None
    try:
        return read_project_report(project_dir, firmware=firmware)
    except FpgakdError as err:
        # hls4ml's Vivado build does not check the tool's exit status: a missing report is the failure
        raise ToolError(f"{tool} produced no usable synthesis report in {project_dir} ({err}):\n"
                        f"{_log_tail(project_dir)}") from None


# ---------------------------------------------------------------- synthesis
