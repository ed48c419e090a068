"""`deepcolor serve`: a web page and an HTTP API on this machine (FastAPI + uvicorn).

    from deepcolor.serve import Settings, create_app
    app = create_app(Settings(workers=2))            # an ASGI app: uvicorn, or FastAPI's TestClient

Modules: `settings` (the typed configuration), `app` (the factory, error handlers, the page), `routes` (the
API), `engine` (models and operations over the library), `codec` (bytes <-> images in memory), `forms` (the
multipart body, in memory, with limits), `pool` (bounded worker threads), `static/` (the page).
"""

from deepcolor.serve.app import create_app
from deepcolor.serve.settings import Settings

__all__ = ["Settings", "create_app"]
