"""Entrypoints: translate HTTP requests, queue messages and commands into use cases and back."""
