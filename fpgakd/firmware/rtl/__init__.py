"""The RTL flow: QKeras student -> da4ml Verilog -> Verilator check -> Yosys resource counts.

The flow is, for a student made of ``QActivation(quantized_bits)`` (input quantizer),
``QDense`` + ``QActivation(quantized_relu)`` hidden layers and a linear ``QDense`` output:

1. :func:`~fpgakd.firmware.rtl.student.extract_student` reads the *quantized* weights and the quantizer settings into
   integers (a :class:`StudentSpec`) and refuses anything it cannot reproduce exactly.
2. :func:`~fpgakd.firmware.rtl.student.reference_forward` is an integer numpy replica of Keras' forward pass; it is the
   specification the RTL must meet, and it is itself checked against ``model.predict``.
3. :func:`~fpgakd.firmware.rtl.trace.trace_student` traces the same arithmetic with da4ml. QKeras' ``quantized_relu``
   rounds half to *even* (``tf.round``) while da4ml only offers truncation (TRN) and
   half-up (RND) on arithmetic signals, so the rounding is built from truncations
   (see ``trace._round_half_even``). Traced with plain RND the RTL differs from Keras on
   ~18% of logits; with the construction here it is bit-exact.
4. :func:`~fpgakd.firmware.rtl.verilog.write_rtl` writes da4ml's Verilog, Vivado build script and Verilator binder
   atomically; :func:`~fpgakd.firmware.rtl.simulate.simulate_rtl` builds the binder with Verilator and compares the
   RTL with ``model.predict`` bit for bit; :func:`~fpgakd.firmware.rtl.yosys.synthesize_rtl` runs Yosys
   ``synth_xilinx -family xcup`` and counts cells.

With ``output: sigmoid`` the trace ends in hls4ml's sigmoid table (its index in adders,
then a da4ml lookup table; ``trace._traced_sigmoid``), checked against
:func:`fpgakd.firmware.sigmoid.emulate_sigmoid` like the C-simulation.

One module per step (tools, student, trace, verilog, simulate, yosys; flow runs them all).
Importing this package imports none of them: the entry points are re-exported lazily, and
da4ml, TensorFlow and QKeras are imported inside the functions that need them.
"""

from fpgakd._lazy import lazy_exports

_EXPORTS = {"check_rtl_tools": "tools", "extract_student": "student", "quantize_inputs": "student",
            "reference_forward": "student", "RtlUnsupported": "student", "trace_student": "trace",
            "write_rtl": "verilog", "simulate_rtl": "simulate", "synthesize_rtl": "yosys",
            "start_synthesis": "yosys", "run_rtl_flow": "flow", "start_rtl_flow": "flow"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
