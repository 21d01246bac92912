"""Torch adapter for ndsampler: datasets, sampling plans, collate, distributed sharding."""
__all__: list[str] = []
