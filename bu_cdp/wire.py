"""What the client and the server both say on the wire, beside the models: the one place both
sides import it from, so the server needs nothing of the client side (pyproject's contracts)."""

from __future__ import annotations

VERSION = "0.1.0"  # bu_cdp.__version__; sent in the client's User-Agent, shown by the server
API_KEY_HEADER = "X-Browser-Use-API-Key"
