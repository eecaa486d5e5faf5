"""Page cursors: the kernel's (timestamp, id) keyset cursor (services/kit/cursor.py)."""

from services.kit.cursor import decode, encode

__all__ = ["decode", "encode"]
