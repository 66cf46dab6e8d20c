"""Pure collector logic: validation and normalisation of pushed posts."""
