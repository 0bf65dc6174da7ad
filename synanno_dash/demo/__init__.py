"""The demo dataset generator: EM, cleft and neuron layers with skeletons and a synapse table
with known errors, written with the project's layer writer (``data.precomputed``).

``dataset`` (``DemoInfo``, ``ensure_demo``, ``generate_demo``) is the entry point; ``neurons``,
``contacts``, ``synapses``, ``em`` and ``table`` build the parts.
"""
