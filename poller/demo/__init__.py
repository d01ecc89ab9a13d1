"""The demo: the real cycle against the two simulators, started here, with a scripted day of changes in between."""
