"""The HTTP side of Sentrycam: FastAPI app, routes, CLI."""
