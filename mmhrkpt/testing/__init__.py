"""Oracles and generators for the tests, the benchmark and the demo.

Not loaded by ``import mmhrkpt``: import its modules by name (``mmhrkpt.testing.mmpose_reference``,
``mmhrkpt.testing.synthetic``). They may import mmpose (through ``mmhrkpt.utils.import_mmpose``) and
draw with OpenCV, which the runtime package never needs to.
"""
