"""conscience package."""
