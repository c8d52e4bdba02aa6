"""Package version. It must equal the loaded library's dc_version_string()
(include/deepclust/version.h), which _lib.check_version enforces."""
__version__ = "0.1.0"
