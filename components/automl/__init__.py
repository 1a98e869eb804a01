"""The AutoKeras-compatible model library: nodes, blocks, heads, graph, tuners, AutoModel, export.

Imports keras, keras-tuner and TensorFlow; never the data or MLOps side of Braid.
"""
