"""Everything that reads and writes Korean fiction: text pipeline, models, training, generation.

Imports nothing from the web app or Flask. Web processes use only ``model_server.text``;
the torch-heavy modules are imported by workers and the CLI.
"""
