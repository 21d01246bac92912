"""ndsampler 0.8 path ``ndsampler.utils`` (see :mod:`ndsampler._compat08`): ``util_gdal``, ``util_lru``,
``util_misc``, ``validate_cog``, ``util_futures``, ``util_shape``, ``util_sklearn``."""
