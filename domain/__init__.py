"""Commission rules as pure code: no I/O, no clock, no logging, nothing of the project imported."""
