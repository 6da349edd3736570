"""Training sessions: the engine driven by commands, producing throttled snapshots.

``core.TrainingSession`` is plain Python (no Qt, no processes) so it can run in-process for
deterministic tests; ``child`` runs it in a spawned process; ``nnviz.ui.session_client`` bridges
that process to Qt signals.
"""
