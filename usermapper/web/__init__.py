"""The web app, independent of the host that serves it: ``function_app.py`` and devhost both build an
``Api`` and hand it ``Request`` objects."""

from .http import Request, Response
from .routes import Api

__all__ = ["Api", "Request", "Response"]
