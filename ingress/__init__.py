"""The thin HTTP front: verify, enqueue, answer. No commission logic; never imports actors."""
