"""SynAnno Dash: proofread and correct synapse annotations in EM volumes."""

__version__ = "0.1.0"
