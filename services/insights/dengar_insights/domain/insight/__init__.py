"""The insight engine's pure domain: spikes, their drivers, period comparison and the brief.

Nothing here does I/O: the adapters read rollups and bounded samples of mentions, and these
modules turn them into spikes (spikes.py), drivers (drivers.py), comparisons (compare.py),
coordinated near-duplicate clusters (duplicates.py) and ranked, bilingual cards (brief.py,
narrative.py).
"""
