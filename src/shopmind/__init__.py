"""shopmind: turn an online shop's user data into value."""

from shopmind.config import Settings
from shopmind.errors import ShopmindError
from shopmind.store import Workspace

__version__ = "0.9.7"
__all__ = ["Settings", "ShopmindError", "Workspace", "__version__"]
