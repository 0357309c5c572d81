"""The HTTP API (FastAPI): four routes of the contract plus health and docs."""
