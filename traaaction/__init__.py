"""The service shell: settings, logging, the embedded default and the operator CLI.

This package is the composition root. It wires `ingress`, `workers` and `storage` together;
those packages never import the CLI.
"""
