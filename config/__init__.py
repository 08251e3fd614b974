"""The floor of the house: settings, logging and the master keys' format.

Imports nothing of the project, so every room (domain excepted, which needs none of it) may
stand on it: ingress, workers, storage and the shell.
"""
