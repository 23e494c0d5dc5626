"""safeattach front ends: the Textual attach console and the CLI, both over core.EngineSource."""

__version__ = "0.1.0"
